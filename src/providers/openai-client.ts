import type OpenAI from 'openai';
import { loadPeer, sdkClient } from './peer.js';

/** `true` when `value` looks like an `openai` SDK client (internal: used by the OpenAI and compatible adapters). */
export function isOpenAIClient(value: unknown): boolean {
  return typeof (value as OpenAI | null)?.chat?.completions?.create === 'function';
}

/**
 * Loads the `openai` SDK on demand and creates a client with it (internal: the OpenAI and
 * compatible adapters). Importing either entry point then works without the SDK, and a missing SDK
 * is a `MissingDependencyError` naming `entry` on the first request.
 */
export function loadOpenAI(entry: string, create: (sdk: typeof OpenAI) => OpenAI): Promise<OpenAI> {
  return sdkClient(async () => create((await loadPeer('openai', entry, () => import('openai'))).OpenAI));
}
