/**
 * Recorded-format wire transcripts (test/fixtures/<provider>/*.sse, see test/fixtures/README.md)
 * replayed by the mock server through each real SDK over real HTTP, whole, one byte at a time and at
 * random splits; and a property: any chunking of a transcript yields the same events.
 */
import fc from 'fast-check';
import { firstValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenflowError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import type { Provider } from '../../src/provider.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockChunking, type MockFlavor, type MockProvider } from '../../src/testing/index.js';
import { loadFixtures, replay, withoutTimes, type Fixture } from '../helpers/fixtures.js';
import { run } from '../helpers/run.js';

interface ProviderSetup {
  flavor: MockFlavor;
  make(baseURL: string): Provider;
}

const SETUPS: Record<string, ProviderSetup> = {
  anthropic: {
    flavor: 'anthropic',
    make: (baseURL) => anthropic({ apiKey: 'k', baseURL, maxRetries: 0 }),
  },
  openai: {
    flavor: 'openai',
    make: (baseURL) => openai({ apiKey: 'k', baseURL, maxRetries: 0 }),
  },
  'openai-responses': {
    flavor: 'openai',
    make: (baseURL) => openai({ apiKey: 'k', baseURL, maxRetries: 0, api: 'responses' }),
  },
  groq: {
    flavor: 'groq',
    make: (baseURL) => groq({ apiKey: 'k', baseURL, maxRetries: 0 }),
  },
  'openai-compatible': {
    flavor: 'openai-compatible',
    make: (baseURL) => openaiCompatible({ baseURL, maxRetries: 0, includeUsage: false }),
  },
};

const FIXTURES = loadFixtures();

/** Checks a stream's outcome against a fixture's hand-derived expectation. */
function check(fixture: Fixture, allEvents: TokenEvent[], error: unknown): void {
  const want = fixture.expect;
  const resets = allEvents.filter((e) => e.type === 'reset').length;
  expect(resets, 'reset events').toBe(want.resets ?? 0);
  // What counts is what follows the last reset: a consumer drops the rest.
  let lastReset = -1;
  allEvents.forEach((e, i) => {
    if (e.type === 'reset') lastReset = i;
  });
  const events = lastReset < 0 ? allEvents : [allEvents[0]!, ...allEvents.slice(lastReset + 1)];
  const text = events.map((e) => (e.type === 'token' ? e.text : '')).join('');
  for (const e of allEvents) {
    if (e.type === 'token') expect(typeof e.text === 'string' && e.text.length > 0, 'token text is a non-empty string').toBe(true);
  }
  if (want.error) {
    expect(error, `${fixture.name} should fail`).toBeDefined();
    expect((error as Error).name).toBe(want.error.class);
    const e = error as TokenflowError & Record<string, unknown>;
    if (want.error.partialText !== undefined) expect(e.partialText).toBe(want.error.partialText);
    for (const key of ['type', 'status', 'retryable', 'retryAfterMs', 'requestId'] as const) {
      if (want.error[key] !== undefined) expect(e[key], key).toEqual(want.error[key]);
    }
    expect(events.some((ev) => ev.type === 'done')).toBe(false);
    return;
  }
  expect(error, `${fixture.name} should succeed`).toBeUndefined();
  if (want.text !== undefined) expect(text).toBe(want.text);
  if (want.tokenEvents !== undefined) expect(events.filter((e) => e.type === 'token')).toHaveLength(want.tokenEvents);
  const start = events[0];
  expect(start?.type).toBe('start');
  expect(allEvents.filter((e) => e.type === 'start')).toHaveLength(1);
  if (want.model !== undefined && start?.type === 'start') expect(start.model).toBe(want.model);
  if (want.id !== undefined && start?.type === 'start') expect(start.id).toBe(want.id);
  const reasoning = events.map((e) => (e.type === 'reasoning' ? e.text : '')).join('');
  expect(reasoning).toBe(want.reasoning ?? '');
  const marks: Array<{ signature: string } | { redacted: string }> = [];
  for (const e of events) {
    if (e.type !== 'reasoning') continue;
    if (e.signature !== undefined) marks.push({ signature: e.signature });
    if (e.redacted !== undefined) marks.push({ redacted: e.redacted });
  }
  expect(marks, 'reasoning signatures and redacted blocks').toEqual(want.reasoningMarks ?? []);
  const done = events.at(-1);
  expect(done?.type).toBe('done');
  if (done?.type === 'done') {
    if (want.stopReason !== undefined) expect(done.stopReason).toBe(want.stopReason);
    expect(done.refusal).toBe(want.refusal);
  }
  const usage = events.find((e) => e.type === 'usage');
  expect(events.filter((e) => e.type === 'usage')).toHaveLength(1);
  if (want.usage && usage?.type === 'usage') {
    expect(usage.usage.estimated).toBe(want.usage.estimated);
    if (!want.usage.estimated) expect(usage.usage).toEqual(want.usage);
  }
  const calls = new Map<number, { index: number; id?: string; name?: string; kind?: string; arguments: string }>();
  for (const e of events) {
    if (e.type !== 'tool-call') continue;
    const call = calls.get(e.index) ?? { index: e.index, arguments: '' };
    if (e.id) call.id = e.id;
    if (e.name) call.name = e.name;
    if (e.kind) call.kind = e.kind;
    call.arguments += e.argsDelta;
    calls.set(e.index, call);
  }
  expect([...calls.values()], 'tool calls').toEqual(want.toolCalls ?? []);
  const providerTools = events.flatMap((e) => {
    if (e.type !== 'provider-tool') return [];
    const seen: Record<string, unknown> = { phase: e.phase, id: e.id, name: e.name };
    if (e.input !== undefined) seen.input = e.input;
    if (want.providerTools?.some((p) => p.blockType !== undefined)) seen.blockType = e.block.type;
    return [seen];
  });
  expect(providerTools, 'provider tools').toEqual(want.providerTools ?? []);
  const citations = events.flatMap((e) => (e.type === 'citation' ? [e.citation] : []));
  expect(citations, 'citations').toEqual(want.citations ?? []);
}

function split(body: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last) chunks.push(body.subarray(last, p));
    last = Math.max(last, p);
  }
  if (last < body.length) chunks.push(body.subarray(last));
  return chunks;
}

describe('fixtures', () => {
  it('exist for every provider', () => {
    const providers = new Set(FIXTURES.map((f) => f.provider));
    expect([...providers].sort()).toEqual(Object.keys(SETUPS).sort());
  });

  const streamed = FIXTURES.filter((f) => f.status < 400);
  describe.each(Object.keys(SETUPS))('%s over HTTP through the SDK', (provider) => {
    const mocks = new Map<string, MockProvider>();
    const setup = SETUPS[provider]!;
    let current: Fixture | undefined;
    let mockByChunking: (chunking: MockChunking) => Promise<MockProvider>;
    beforeAll(() => {
      mockByChunking = async (chunking) => {
        const key = JSON.stringify(chunking);
        let mock = mocks.get(key);
        if (!mock) {
          mock = await startMockProvider({
            flavor: setup.flavor,
            chunking,
            script: (request) =>
              request.body?.stream === false && current!.document !== undefined
                ? { raw: JSON.stringify(current!.document), status: 200, headers: { 'content-type': 'application/json' } }
                : { raw: current!.body, status: current!.status, headers: current!.headers },
          });
          mocks.set(key, mock);
        }
        return mock;
      };
    });
    afterAll(async () => {
      await Promise.all([...mocks.values()].map((m) => m.close()));
    });

    const cases = FIXTURES.filter((f) => f.provider === provider);
    it.each(cases.map((f) => [f.name, f] as const))('%s: whole, byte by byte and at random splits', async (_name, fixture) => {
      current = fixture;
      const chunkings: MockChunking[] = ['whole', 'byte', { random: { maxBytes: 7 } }];
      for (const chunking of chunkings) {
        const mock = await mockByChunking(chunking);
        const outcome = await run(setup.make(mock.baseURL).stream({ model: 'request-model', messages: [{ role: 'user', content: 'x' }] }));
        check(fixture, outcome.events, outcome.error);
      }
    });

    const documented = cases.filter((f) => f.document !== undefined);
    if (documented.length > 0) {
      it.each(documented.map((f) => [f.name, f] as const))('%s: complete() equals stream().pipe(collect())', async (_name, fixture) => {
        current = fixture;
        const mock = await mockByChunking('whole');
        const llm = setup.make(mock.baseURL);
        const request = { model: 'request-model', messages: [{ role: 'user' as const, content: 'x' }] };
        const streamed = await firstValueFrom(llm.stream(request).pipe(collect()));
        const completed = await llm.complete(request);
        const { metrics: _m1, ...a } = streamed;
        const { metrics: _m2, ...b } = completed;
        expect(b).toEqual(a);
      });
    }
  });

  it.each(streamed.map((f) => [`${f.provider}/${f.name}`, f] as const))(
    '%s: any chunking yields the same events (property)',
    async (_name, fixture) => {
      const whole = await run(replay(fixture, [fixture.body]));
      check(fixture, whole.events, whole.error);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat({ max: fixture.body.length }), { maxLength: 40 }), async (cuts) => {
          const outcome = await run(replay(fixture, split(fixture.body, cuts)));
          expect(withoutTimes(outcome.events)).toEqual(withoutTimes(whole.events));
          expect((outcome.error as Error | undefined)?.name).toBe((whole.error as Error | undefined)?.name);
          expect((outcome.error as TokenflowError | undefined)?.partialText).toBe(
            (whole.error as TokenflowError | undefined)?.partialText,
          );
        }),
        { numRuns: 60 },
      );
    },
  );

  it('collect() folds a fixture into the expected answer', async () => {
    const fixture = streamed.find((f) => f.expect.toolCalls && !f.expect.error);
    expect(fixture).toBeDefined();
    const answer = await firstValueFrom(replay(fixture!, [fixture!.body]).pipe(collect()));
    expect(answer.toolCalls?.map((c) => ({ ...c }))).toEqual(fixture!.expect.toolCalls);
    const events = await firstValueFrom(replay(fixture!, [fixture!.body]).pipe(toArray()));
    expect(answer.content).toBe(events.map((e) => (e.type === 'token' ? e.text : '')).join(''));
  });
});
