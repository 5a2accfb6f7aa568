import type OpenAI from 'openai';

/** `true` when `value` looks like an `openai` SDK client (internal: used by the OpenAI and compatible adapters). */
export function isOpenAIClient(value: unknown): boolean {
  return typeof (value as OpenAI | null)?.chat?.completions?.create === 'function';
}
