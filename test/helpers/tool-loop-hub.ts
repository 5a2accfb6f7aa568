/**
 * A tool loop published on a hub (issue 15, item 6), shared by the in-memory suite
 * (test/agent/loop-hub.test.ts) and the Redis one (test/redis/loop-redis.test.ts): the scenarios are
 * the same, only where the hubs live differs. `agent.stream(message, { tools })` runs over the mock
 * provider through the real OpenAI SDK and real HTTP; the loop is published on one hub and followed
 * on another (the same one in memory; a second server on Redis).
 */
import { randomUUID } from 'node:crypto';
import { concatMap, defer, filter, firstValueFrom, from, lastValueFrom, map, of, tap, toArray, type MonoTypeOperatorFunction, type Observable } from 'rxjs';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool, ToolExecutionError } from '../../src/agent/tools.js';
import { fromSSE } from '../../src/client/index.js';
import { RemoteStreamError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import type { StreamErrorReport } from '../../src/sse/encode.js';
import type { HubMessage, StreamHub } from '../../src/sse/hub.js';
import { startMockProvider, type MockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { collectAll } from './hub.js';
import { makeProvider } from './mock.js';

/** Where the scenarios run: the hub the loop is published on, the one followed, and its HTTP origin. */
export interface LoopHubs {
  publisher: StreamHub;
  follower: StreamHub;
  /** Serves `follower.handler()`: `GET <origin>/streams/<channel>`. */
  origin: string;
}

/** Makes fresh hubs for one test; `onError` goes to the publishing hub. Cleanup is the suite's. */
export type MakeLoopHubs = (options: { onError?: (error: unknown, report: StreamErrorReport) => void }) => Promise<LoopHubs>;

/** A promise and its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const SECRET = 'sk-proj-SECRET-0123456789abcdef';
const STEP0_TEXT = ['Let', ' me', ' check.'];
const STEP1_TEXT = ['Sunny', ' in', ' Paris', ' today.'];

/** Step 0: some text and a weather call; step 1 (it got the result back): the answer. */
const weatherScript = (request: MockRequest): MockScript =>
  request.toolResults.length === 0
    ? { text: STEP0_TEXT, toolCalls: [{ id: 'call_w1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }], usage: { inputTokens: 20, outputTokens: 5 } }
    : { text: STEP1_TEXT, usage: { inputTokens: 40, outputTokens: 4 } };

/** A weather tool whose `execute` waits for `gate` (when given), reporting its start and its signal's abort. */
function gatedWeather(gate?: Promise<void>) {
  const started = deferred();
  const aborted = deferred();
  const weather = tool({
    description: 'The weather in a city.',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }, { signal }) => {
      signal.addEventListener('abort', () => aborted.resolve(), { once: true });
      started.resolve();
      if (gate) {
        await new Promise<void>((resolve, reject) => {
          void gate.then(resolve);
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        });
      }
      return { city, temperature: 21 };
    },
  });
  return { weather, started: started.promise, aborted: aborted.promise };
}

/**
 * Holds the event for which `shouldHold` first returns true, and everything after it, until `gate`
 * resolves (the loop itself runs on; the hub just does not get those events yet). `held` is called
 * when the hold begins, after every earlier event went through.
 */
function holdFrom(shouldHold: (event: TokenEvent) => boolean, gate: Promise<void>, held: () => void): MonoTypeOperatorFunction<TokenEvent> {
  return (source) =>
    defer(() => {
      let holding = false;
      return source.pipe(
        concatMap((event) => {
          if (!holding && shouldHold(event)) {
            holding = true;
            held();
          }
          return holding ? from(gate).pipe(map(() => event)) : of(event);
        }),
      );
    });
}

/** Resolves once the follower hub has stored (and delivers) event `id` of the channel. */
function stored(hub: StreamHub, channel: string, id: number): Promise<HubMessage> {
  return firstValueFrom(hub.subscribe(channel).pipe(filter((m) => m.id >= id)));
}

const sse = (hubs: LoopHubs, channel: string, lastEventId?: number): Observable<TokenEvent> =>
  fromSSE(`${hubs.origin}/streams/${channel}`, lastEventId === undefined ? { mode: 'fetch', reconnect: false } : { mode: 'fetch', reconnect: false, lastEventId });

const eventsOf = (messages: readonly HubMessage[]): TokenEvent[] => messages.map((m) => m.event);

/** The loop's event types for the weather script: what every follower must see, in this order. */
const LOOP_TYPES = [
  'step-start', 'start', 'token', 'token', 'token', 'tool-call', 'tool-call', 'usage', 'step-finish', 'tool-result',
  'step-start', 'start', 'token', 'token', 'token', 'token', 'usage', 'step-finish',
  'usage', 'done',
];

/** Registers the scenarios in the calling `describe`. */
export function defineToolLoopHubTests(makeHubs: MakeLoopHubs, cleanups: Array<() => Promise<unknown>>): void {
  async function mock(script: (request: MockRequest) => MockScript): Promise<MockProvider> {
    const server = await startMockProvider({ flavor: 'openai', script });
    cleanups.push(() => server.close());
    return server;
  }

  it('every follower (SSE through fromSSE, hub.subscribe, from the start or joining after step 0) gets every event of the loop, equal to the direct subscriber', async () => {
    const provider = await mock(weatherScript);
    const hubs = await makeHubs({});
    const agent = new Agent({ provider: makeProvider('openai', provider), model: 'test-model' });
    const gate = deferred();
    const { weather, started } = gatedWeather(gate.promise);
    const channel = randomUUID();
    const direct: TokenEvent[] = [];
    // The hub's one subscription, observed: what a direct subscriber of this very loop got.
    await hubs.publisher.publish(channel, agent.stream('Weather in Paris?', { tools: { weather } }).pipe(tap((e) => direct.push(e))));

    const inProcess = collectAll(hubs.follower.subscribe(channel));
    const overSSE = lastValueFrom(sse(hubs, channel).pipe(toArray()));
    await started;
    // Step 0 has finished (its `step-finish` went out before its tool ran): join late, then let the tool answer.
    expect(direct.map((e) => e.type)).toContain('step-finish');
    const lateInProcess = collectAll(hubs.follower.subscribe(channel));
    const lateOverSSE = lastValueFrom(sse(hubs, channel).pipe(toArray()));
    await stored(hubs.follower, channel, direct.length - 1);
    gate.resolve();

    const followed = await inProcess;
    const late = await lateInProcess;
    expect(followed.error).toBeUndefined();
    expect(late.error).toBeUndefined();
    expect(direct.map((e) => e.type)).toEqual(LOOP_TYPES);
    for (const [label, events] of [
      ['hub.subscribe()', eventsOf(followed.messages)],
      ['hub.subscribe() joining after step 0', eventsOf(late.messages)],
      ['fromSSE()', await overSSE],
      ['fromSSE() joining after step 0', await lateOverSSE],
    ] as const) {
      // Payloads and `t` alike: the hub and the wire change nothing.
      expect(events, label).toEqual(direct);
    }
    expect(followed.messages.map((m) => m.id)).toEqual(direct.map((_, i) => i));
    expect(direct.find((e) => e.type === 'tool-result')).toMatchObject({ step: 0, id: 'call_w1', name: 'weather', output: { city: 'Paris', temperature: 21 }, isError: false });

    // collect() on a follower (a replay of the finished channel) folds the same loop result.
    const followerAnswer = await lastValueFrom(sse(hubs, channel).pipe(collect()));
    const directAnswer = await lastValueFrom(from(direct).pipe(collect()));
    expect(followerAnswer).toEqual(directAnswer);
    expect(followerAnswer.content).toBe('Sunny in Paris today.');
    expect(followerAnswer.steps?.map((s) => s.content)).toEqual(['Let me check.', 'Sunny in Paris today.']);
    expect(followerAnswer.steps?.[0]?.toolResults).toMatchObject([{ id: 'call_w1', name: 'weather', output: { city: 'Paris', temperature: 21 }, isError: false }]);
    expect(followerAnswer.usage).toEqual({ inputTokens: 60, outputTokens: 9, estimated: false });
    expect(provider.requests).toHaveLength(2);
  });

  it('a follower that resumes with Last-Event-ID in the middle of step 1 gets exactly the rest (SSE and hub.subscribe)', async () => {
    const provider = await mock(weatherScript);
    const hubs = await makeHubs({});
    const agent = new Agent({ provider: makeProvider('openai', provider), model: 'test-model' });
    const { weather } = gatedWeather();
    const channel = randomUUID();
    const direct: TokenEvent[] = [];
    const gate = deferred();
    const held = deferred();
    let steps = 0;
    let step1Tokens = 0;
    // Hold the loop after step 1's second token, so the followers resume while it is running.
    const hold = holdFrom(
      (e) => {
        if (e.type === 'step-start') steps++;
        if (steps === 2 && e.type === 'token') step1Tokens++;
        return step1Tokens === 3;
      },
      gate.promise,
      () => held.resolve(),
    );
    await hubs.publisher.publish(channel, agent.stream('Weather in Paris?', { tools: { weather } }).pipe(hold, tap((e) => direct.push(e))));
    await held.promise;
    const lastId = direct.length - 1;
    expect(direct[lastId]).toMatchObject({ type: 'token', text: ' in' });
    expect(direct.filter((e) => e.type === 'step-start')).toHaveLength(2);
    await stored(hubs.follower, channel, lastId);

    const resumedSSE = lastValueFrom(sse(hubs, channel, lastId).pipe(toArray()));
    const resumedInProcess = collectAll(hubs.follower.subscribe(channel, { lastEventId: lastId }));
    gate.resolve();

    const inProcess = await resumedInProcess;
    const overSSE = await resumedSSE;
    const rest = direct.slice(lastId + 1);
    expect(inProcess.error).toBeUndefined();
    expect(direct.map((e) => e.type)).toEqual(LOOP_TYPES);
    expect(rest.map((e) => e.type)).toEqual(['token', 'token', 'usage', 'step-finish', 'usage', 'done']);
    expect(overSSE).toEqual(rest);
    expect(eventsOf(inProcess.messages)).toEqual(rest);
    expect(inProcess.messages.map((m) => m.id)).toEqual(rest.map((_, i) => lastId + 1 + i));
  });

  it("the hub's stop while a tool runs aborts the tool's signal, sends the model nothing more, and tells every follower `stopped` with the text so far", async () => {
    const provider = await mock(weatherScript);
    const hubs = await makeHubs({});
    const agent = new Agent({ provider: makeProvider('openai', provider), model: 'test-model' });
    const never = new Promise<void>(() => {});
    const { weather, started, aborted } = gatedWeather(never);
    const channel = randomUUID();
    await hubs.publisher.publish(channel, agent.stream('Weather in Paris?', { tools: { weather } }));
    const inProcess = collectAll(hubs.follower.subscribe(channel));
    const overSSE = lastValueFrom(sse(hubs, channel).pipe(toArray())).then(
      () => undefined,
      (error: unknown) => error,
    );
    await started;
    // Stopped through the following hub: on Redis, another server than the one running the loop.
    expect(await hubs.follower.stop(channel)).toBe(true);
    await aborted;

    const followed = await inProcess;
    for (const error of [followed.error, await overSSE]) {
      expect(RemoteStreamError.isInstance(error)).toBe(true);
      expect((error as RemoteStreamError).reason).toBe('stopped');
      expect((error as RemoteStreamError).partialText).toBe('Let me check.');
    }
    expect(eventsOf(followed.messages).map((e) => e.type)).toEqual(LOOP_TYPES.slice(0, LOOP_TYPES.indexOf('tool-result')));
    // No next step: the mock got the first request only.
    await provider.waitForClose(0);
    expect(provider.requests).toHaveLength(1);
  });

  it("a ToolExecutionError (onToolError: 'throw') reaches the browser as a fixed message with every step's text, never the tool's own message", async () => {
    const provider = await mock((request) =>
      request.toolResults.length === 0
        ? { text: STEP0_TEXT, toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }] }
        : { text: ['Now', ' the', ' time.'], toolCalls: [{ id: 'call_t1', name: 'time', arguments: '{}' }] },
    );
    const reported: Array<{ error: unknown; report: StreamErrorReport }> = [];
    const hubs = await makeHubs({ onError: (error, report) => void reported.push({ error, report }) });
    const agent = new Agent({ provider: makeProvider('openai', provider), model: 'test-model' });
    const { weather } = gatedWeather();
    const time = tool({
      inputSchema: z.object({}),
      execute: () => {
        throw new Error(`clock service refused the key ${SECRET}`);
      },
    });
    const channel = randomUUID();
    await hubs.publisher.publish(channel, agent.stream('Weather and time?', { tools: { weather, time }, onToolError: 'throw' }));

    const bytes = await (await fetch(`${hubs.origin}/streams/${channel}`)).text();
    const sseError = await lastValueFrom(sse(hubs, channel)).catch((error: unknown) => error);
    const inProcess = await collectAll(hubs.follower.subscribe(channel));

    expect(bytes).not.toContain('SECRET');
    expect(bytes).not.toContain('clock service');
    const errorData = /event: error\ndata: (.*)\n/.exec(bytes)?.[1];
    expect(JSON.parse(errorData ?? 'null')).toEqual({
      type: 'error',
      name: 'ToolExecutionError',
      message: 'A tool the server runs failed.',
      // The loop's partial answer is every step's text, as the loop's own error and collect() say.
      partialText: 'Let me check.Now the time.',
    });
    for (const error of [sseError, inProcess.error]) {
      expect(RemoteStreamError.isInstance(error)).toBe(true);
      expect((error as RemoteStreamError).remoteName).toBe('ToolExecutionError');
      expect((error as RemoteStreamError).partialText).toBe('Let me check.Now the time.');
      expect(String((error as Error).message)).not.toContain('SECRET');
    }
    // The server keeps the whole error for its own logs.
    expect(reported).toHaveLength(1);
    const original = reported[0]!.error as ToolExecutionError;
    expect(ToolExecutionError.isInstance(original)).toBe(true);
    expect(original.partialText).toBe('Let me check.Now the time.');
    expect(String((original.cause as Error).message)).toContain(SECRET);
    expect(reported[0]!.report.partialText).toBe('Let me check.Now the time.');
  });
}
