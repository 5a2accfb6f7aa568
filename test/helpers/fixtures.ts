/**
 * The recorded wire fixtures (test/fixtures/<provider>/*), and the engine fed from memory: the
 * exact path an adapter reads a response body through (`createTokenStream` over a `Response`), with
 * the body cut into whatever chunks a test chooses.
 * Used by test/providers/fixtures.test.ts and the reliability suite alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import type { TokenEvent } from '../../src/events.js';
import { createAnthropicMapper } from '../../src/providers/anthropic-wire.js';
import { createChatMapper } from '../../src/providers/openai-chat-wire.js';
import { createResponsesMapper } from '../../src/providers/openai-responses-wire.js';
import { createTokenStream, type WireMapper } from '../../src/providers/runtime.js';
import { mapSdkError } from '../../src/providers/sdk-errors.js';

const ROOT = join(import.meta.dirname, '..', 'fixtures');

/** What a fixture's `.json` says a correct client derives from it. */
export interface Expectation {
  model?: string;
  id?: string;
  text?: string;
  tokenEvents?: number;
  reasoning?: string;
  toolCalls?: Array<{ index: number; id?: string; name?: string; kind?: string; arguments: string }>;
  /** `provider-tool` events in order, without their blocks (`blockType` is the block's `type`). */
  providerTools?: Array<{ phase: 'call' | 'result'; id: string; name: string; input?: unknown; blockType?: string }>;
  /** `citation` events' citations, in order. */
  citations?: unknown[];
  /** Reasoning signatures and redacted blocks in order: `{ signature }` or `{ redacted }`. */
  reasoningMarks?: Array<{ signature: string } | { redacted: string }>;
  /** How many `reset` events (text, tools and usage count after the last one). */
  resets?: number;
  stopReason?: string;
  refusal?: string;
  usage?: { inputTokens?: number; outputTokens?: number; estimated: boolean };
  error?: {
    class: string;
    type?: string;
    status?: number;
    partialText?: string;
    retryable?: boolean;
    retryAfterMs?: number;
    requestId?: string;
  };
}

/** One recorded response: status, headers, the raw body, and the hand-derived expectation. */
export interface Fixture {
  /** The fixture directory: `anthropic`, `openai`, `openai-responses`, `groq`, `openai-compatible`. */
  provider: string;
  name: string;
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The same answer as the provider returns it without streaming, when the fixture gives one. */
  document?: unknown;
  expect: Expectation;
}

/** The wire mapper each fixture directory is read with, as its adapter configures it. */
export const FIXTURE_MAPPERS: Record<string, () => WireMapper> = {
  anthropic: () => createAnthropicMapper(),
  openai: () => createChatMapper({ provider: 'openai' }),
  'openai-responses': () => createResponsesMapper(),
  groq: () => createChatMapper({ provider: 'groq' }),
  'openai-compatible': () => createChatMapper({ provider: 'openai-compatible', lenientEnd: true }),
};

/** Every fixture, HTTP errors included (their body is the error JSON). */
export function loadFixtures(): Fixture[] {
  const fixtures: Fixture[] = [];
  for (const provider of readdirSync(ROOT, { withFileTypes: true })) {
    if (!provider.isDirectory()) continue;
    const dir = join(ROOT, provider.name);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const name = file.slice(0, -'.json'.length);
      const meta = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        status?: number;
        headers?: Record<string, string>;
        body?: unknown;
        document?: unknown;
        expect: Expectation;
      };
      const isHttpError = (meta.status ?? 200) >= 400;
      const body = isHttpError
        ? new TextEncoder().encode(JSON.stringify(meta.body))
        : new Uint8Array(readFileSync(join(dir, `${name}.sse`)));
      const headers = { ...(meta.headers ?? {}) };
      if (isHttpError) headers['content-type'] = 'application/json';
      const fixture: Fixture = { provider: provider.name, name, status: meta.status ?? 200, headers, body, expect: meta.expect };
      if (meta.document !== undefined) fixture.document = meta.document;
      fixtures.push(fixture);
    }
  }
  return fixtures;
}

/** A fixture's body run through the engine from memory, delivered in exactly these chunks. */
export function replay(fixture: Fixture, chunks: readonly Uint8Array[]): Observable<TokenEvent> {
  const mapper = FIXTURE_MAPPERS[fixture.provider];
  if (!mapper) throw new Error(`no wire mapper for fixture directory ${fixture.provider}`);
  return createTokenStream({
    provider: fixture.provider,
    model: 'request-model',
    open: async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
            controller.close();
          },
        }),
        { status: 200, headers: { 'content-type': 'text/event-stream' } },
      ),
    createMapper: mapper,
    estimateInputTokens: () => 1,
    mapError: (error, context) => mapSdkError(error, context, { provider: fixture.provider }),
  });
}

/** Events without their timestamps, for comparing runs. */
export function withoutTimes(events: readonly TokenEvent[]): unknown[] {
  return events.map(({ t: _t, ...rest }) => rest);
}
