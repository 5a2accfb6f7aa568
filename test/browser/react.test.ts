/**
 * `tokenflow/react` (issue 16, item 8): `useTokenStream()` in real headless Chromium, and its fold
 * and bundle in Node.
 *
 * The page (test/browser/react-page) is built once for this file with `vite build` in development
 * mode (so React's StrictMode really runs its double effects) and served with a `StreamHub` that
 * relays the mock provider, all on 127.0.0.1. The test drives the page through `window.harness`
 * (react-page/harness.ts). "Mid-answer" is made, never raced: the hub's log is gated
 * (helpers/gated-log.ts), or the mock stalls after a few tokens and never finishes on its own. The
 * only clocks are hang guards scaled for load (helpers/budget.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { from, lastValueFrom, tap, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { RemoteStreamError } from '../../src/errors.js';
import type { AgentResponse, TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { retryMidStream } from '../../src/operators/retryMidStream.js';
import { TokenStreamFold, type TokenStreamState } from '../../src/react/fold.js';
import { StreamHub, type StreamHubOptions } from '../../src/sse/index.js';
import { startMockProvider, type LatencyProfile, type MockFault, type MockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { skipWithoutChromium, useBrowser } from '../helpers/browser.js';
import { closure, NODE_BUILTINS } from '../helpers/bundle-graph.js';
import { budget } from '../helpers/budget.js';
import { gatedLog, letTokensThrough, tokensLetThrough, type GatedLog } from '../helpers/gated-log.js';
import { makeProvider } from '../helpers/mock.js';
import { setupOnce } from '../helpers/setup.js';
import { buildTestPage, testCleanups, type BuiltPage } from '../helpers/test-page.js';
import type { SourceSpec, SubjectEnd } from './react-page/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PAGE_SOURCE = join(root, 'test/browser/react-page');

const ANSWER = 'Rivers carve the stone, patient as the moon is slow, and the sea keeps every name they carried down from the hills.';
const WORDS = ANSWER.split(/(?= )/);
/** About 25 ms between tokens, so the events' `t` differ. */
const FAST: LatencyProfile = { ttftMs: 20, tokensPerSecond: 40 };

/** Lets the hub's entries through one at a time until one of type `type` reached the log. */
async function letThroughUntil(gate: GatedLog, type: string): Promise<void> {
  for (;;) {
    const next = gate.entries.length + 1;
    gate.allowBelow(next);
    await gate.appended(next);
    if (gate.entries.at(-1)!.type === type) return;
  }
}

/** What `collect()` makes of the events a server-side subscriber got: the producer's own figures. */
function producerAnswer(events: readonly TokenEvent[]): Promise<AgentResponse> {
  return lastValueFrom(from(events).pipe(collect()));
}

/** The figures the hook must show for a finished answer: the producer's, as `metrics()` gives them. */
function expectedMetrics(answer: AgentResponse): Record<string, unknown> {
  const { ttftMs, tokensPerSecond, tokens } = answer.metrics;
  return { ttftMs, tokensPerSecond, tokens, usage: answer.usage };
}

// ---- the bundle -------------------------------------------------------------------------------

const dist = join(root, 'dist');
/** What the built hook may import: its peers (react, rxjs) and the client's one dependency. */
const ALLOWED_PACKAGES: ReadonlySet<string> = new Set(['react', 'rxjs', 'eventsource-parser']);

describe('the built tokenflow/react bundle', () => {
  beforeAll(() => {
    if (!existsSync(join(dist, 'react.js')) || !existsSync(join(dist, 'react.cjs'))) {
      execFileSync('npx', ['tsup'], { cwd: root, stdio: 'pipe' });
    }
  }, budget(180_000));

  it.each(['react.js', 'react.cjs'])('%s and the chunks it imports use nothing but react, rxjs and the client (no Node, no tokenizer)', (entry) => {
    const modules = closure(join(dist, entry));
    // The hook shares fromSSE and the errors with the client through chunks: the walk must reach them.
    expect(modules.size).toBeGreaterThan(1);
    const offending: string[] = [];
    const packages = new Set<string>();
    for (const [file, bare] of modules) {
      for (const specifier of bare) {
        const isNode = specifier.startsWith('node:') || NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0]!);
        const packageName = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        packages.add(packageName);
        if (isNode || !ALLOWED_PACKAGES.has(packageName)) offending.push(`${file.slice(dist.length + 1)} imports ${specifier}`);
      }
      expect(readFileSync(file, 'utf8')).not.toMatch(/["']node:[a-z_/]+["']|gpt-tokenizer/);
    }
    expect(offending).toEqual([]);
    expect(packages.has('react')).toBe(true);
    expect(readFileSync(join(dist, entry), 'utf8')).toMatch(/useTokenStream/);
  });

  it('is in the package: an `exports` entry with types for both formats, a typesVersions fallback, React an optional peer', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
      typesVersions: { '*': Record<string, string[]> };
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(manifest.exports['./react']).toEqual({
      import: { types: './dist/react.d.ts', default: './dist/react.js' },
      require: { types: './dist/react.d.cts', default: './dist/react.cjs' },
    });
    expect(manifest.typesVersions['*'].react).toEqual(['./dist/react.d.cts']);
    expect(manifest.peerDependencies.react).toBe('>=18');
    expect(manifest.peerDependenciesMeta.react?.optional).toBe(true);
  });
});

// ---- the fold, in Node ------------------------------------------------------------------------

/** Folds the events and returns the final snapshot. */
function fold(events: readonly TokenEvent[], end?: (f: TokenStreamFold) => void): TokenStreamState {
  const f = new TokenStreamFold();
  for (const event of events) f.push(event);
  end?.(f);
  return f.snapshot();
}

const start: TokenEvent = { type: 'start', provider: 'test', model: 'm', t: 0 };
const token = (text: string, t: number, index = 0): TokenEvent => ({ type: 'token', text, index, t });

describe("useTokenStream's fold", () => {
  it('an answer: text, done with its stop reason, and the figures collect() gives', async () => {
    const events: TokenEvent[] = [
      start,
      { type: 'reasoning', text: 'hmm', t: 40 },
      token('Hel', 100),
      token('lo', 130, 1),
      token('!', 190, 2),
      { type: 'usage', usage: { inputTokens: 5, outputTokens: 7, estimated: false }, t: 200 },
      { type: 'done', stopReason: 'end', t: 210 },
    ];
    const state = fold(events);
    expect(state).toMatchObject({ text: 'Hello!', status: 'done', stopReason: 'end', toolCalls: [] });
    expect(state.error).toBeUndefined();
    expect(state.metrics).toEqual(expectedMetrics(await producerAnswer(events)));
    // 7 output tokens from the reasoning's start (t 40) to done (t 210).
    expect(state.metrics.tokensPerSecond).toBeCloseTo(7000 / 170, 9);
  });

  it('while streaming: time to first token, and tokens per second between the first and the latest token', () => {
    const state = fold([start, token('a', 100), token('b', 150, 1), token('c', 200, 2)]);
    expect(state.status).toBe('streaming');
    expect(state.metrics).toEqual({ ttftMs: 100, tokensPerSecond: 20, tokens: 3 });
    expect(fold([start, token('a', 100)]).metrics).toEqual({ ttftMs: 100, tokens: 1 });
  });

  it('a reset clears the text and the figures; the answer after it is measured alone, as collect() does', async () => {
    const events: TokenEvent[] = [
      start,
      token('Hel', 100),
      token('p', 120, 1),
      { type: 'reset', reason: 'retry', t: 300 },
      token('Hello', 500),
      token(' there', 540, 1),
      { type: 'usage', usage: { inputTokens: 5, outputTokens: 2, estimated: false }, t: 560 },
      { type: 'done', stopReason: 'end', t: 600 },
    ];
    const f = new TokenStreamFold();
    for (const event of events.slice(0, 3)) f.push(event);
    expect(f.snapshot().text).toBe('Help');
    f.push(events[3]!);
    expect(f.snapshot()).toMatchObject({ text: '', status: 'streaming', metrics: { tokens: 0 } });
    for (const event of events.slice(4)) f.push(event);
    expect(f.snapshot().text).toBe('Hello there');
    expect(f.snapshot().metrics).toEqual(expectedMetrics(await producerAnswer(events)));
  });

  /** A tool loop: step 0 says something and calls `weather` in two fragments; step 1 is retried once, then answers. */
  const loop: TokenEvent[] = [
    { type: 'step-start', step: 0, t: 0 },
    start,
    token('Let me', 50),
    token(' check.', 60, 1),
    { type: 'tool-call', index: 0, id: 'call_1', name: 'weather', argsDelta: '{"city":', t: 70 },
    { type: 'tool-call', index: 0, argsDelta: '"Paris"}', t: 80 },
    { type: 'usage', usage: { inputTokens: 10, outputTokens: 6, estimated: false }, t: 90 },
    { type: 'step-finish', step: 0, usage: { inputTokens: 10, outputTokens: 6, estimated: false }, stopReason: 'tool_use', t: 91 },
    { type: 'tool-result', step: 0, id: 'call_1', name: 'weather', output: { temperature: 21 }, isError: false, durationMs: 12, t: 105 },
    { type: 'step-start', step: 1, t: 110 },
    { type: 'start', provider: 'test', model: 'm', t: 111 },
    token('Rain', 150, 2),
    { type: 'reset', reason: 'retry', step: 1, t: 160 },
    token('Sun', 200, 2),
    token('ny.', 230, 3),
    { type: 'usage', usage: { inputTokens: 20, outputTokens: 2, estimated: false }, t: 240 },
    { type: 'step-finish', step: 1, usage: { inputTokens: 20, outputTokens: 2, estimated: false }, stopReason: 'end', t: 241 },
    { type: 'usage', usage: { inputTokens: 30, outputTokens: 8, estimated: false }, t: 242 },
    { type: 'done', stopReason: 'end', t: 243 },
  ];

  it("a tool loop: each call with its input as it fills in, its result, a step's reset cutting only that step, and the loop's figures", async () => {
    const f = new TokenStreamFold();
    const at = (type: TokenEvent['type'], nth = 0): number => loop.map((e, i) => [e, i] as const).filter(([e]) => e.type === type)[nth]![1];
    const until = (index: number) => {
      while (pushed <= index) f.push(loop[pushed++]!);
      return f.snapshot();
    };
    let pushed = 0;
    expect(until(at('tool-call')).toolCalls).toEqual([{ id: 'call_1', step: 0, name: 'weather', input: '{"city":' }]);
    expect(until(at('tool-call', 1)).toolCalls).toEqual([{ id: 'call_1', step: 0, name: 'weather', input: '{"city":"Paris"}' }]);
    expect(until(at('tool-result')).toolCalls).toEqual([
      { id: 'call_1', step: 0, name: 'weather', input: '{"city":"Paris"}', output: { temperature: 21 }, isError: false, durationMs: 12 },
    ]);
    expect(until(at('token', 2)).text).toBe('Let me check.Rain');
    const afterReset = until(at('reset'));
    expect(afterReset.text).toBe('Let me check.');
    expect(afterReset.toolCalls).toHaveLength(1);
    const done = until(loop.length - 1);
    expect(done).toMatchObject({ text: 'Let me check.Sunny.', status: 'done', stopReason: 'end' });
    expect(done.metrics).toEqual(expectedMetrics(await producerAnswer(loop)));
    expect(done.metrics.usage).toEqual({ inputTokens: 30, outputTokens: 8, estimated: false });
  });

  it('a reset of a step with calls drops those calls; a reset without a step drops everything', () => {
    const cut = fold([...loop.slice(0, 6), { type: 'reset', reason: 'retry', step: 0, t: 85 }]);
    expect(cut).toMatchObject({ text: '', toolCalls: [] });
    const all = fold([...loop.slice(0, 9), { type: 'reset', reason: 'retry', t: 106 }]);
    expect(all).toMatchObject({ text: '', toolCalls: [] });
  });

  it('a follower that resumed mid-loop: a call first seen without its id or name, and a result for a call it never saw', () => {
    const state = fold([
      { type: 'step-start', step: 0, t: 0 },
      { type: 'tool-call', index: 0, argsDelta: '"Paris"}', t: 80 },
      { type: 'tool-result', step: 0, id: 'call_0', name: 'time', output: '12:00', isError: false, durationMs: 3, t: 90 },
    ]);
    expect(state.toolCalls).toEqual([
      { id: '', step: 0, name: '', input: '"Paris"}' },
      { id: 'call_0', step: 0, name: 'time', input: '', output: '12:00', isError: false, durationMs: 3 },
    ]);
  });

  it("the hub's stop is `stopped` without an error; another failure is `error`; a local stop keeps the text; nothing after the end counts", () => {
    const partial = [start, token('Hi', 10)];
    const stopped = new RemoteStreamError({ type: 'error', name: 'StreamAbortedError', message: 'Stopped.', reason: 'stopped' });
    expect(fold(partial, (f) => f.fail(stopped))).toMatchObject({ text: 'Hi', status: 'stopped' });
    expect(fold(partial, (f) => f.fail(stopped)).error).toBeUndefined();
    const lost = new RemoteStreamError({ type: 'error', name: 'ProviderError', message: 'Gone.', reason: 'lost' });
    expect(fold(partial, (f) => f.fail(lost))).toMatchObject({ text: 'Hi', status: 'error', error: lost });
    const thrown = fold(partial, (f) => f.fail('a string'));
    expect(thrown.error).toBeInstanceOf(Error);
    expect(thrown.error?.message).toContain('a string');
    expect(fold(partial, (f) => f.stop())).toMatchObject({ text: 'Hi', status: 'stopped' });
    expect(fold(partial, (f) => f.complete())).toMatchObject({ text: 'Hi', status: 'done' });
    const ended = fold(partial, (f) => {
      f.stop();
      expect(f.push(token(' there', 20, 1))).toBe(false);
      expect(f.fail(new Error('late'))).toBe(false);
    });
    expect(ended).toMatchObject({ text: 'Hi', status: 'stopped' });
  });

  it('the snapshot is the same object until something shown changes', () => {
    const f = new TokenStreamFold();
    const first = f.snapshot();
    expect(f.push(start)).toBe(false);
    expect(f.snapshot()).toBe(first);
    expect(f.push(token('a', 1))).toBe(true);
    const second = f.snapshot();
    expect(second).not.toBe(first);
    expect(f.snapshot()).toBe(second);
    expect(first.text).toBe('');
  });
});

// ---- the hook in Chromium ---------------------------------------------------------------------

/** One GET of a channel, as the server received it. */
interface FollowRecord {
  channel: string;
  closed: boolean;
  /** Resolves when the response's connection closed (the client left, or the stream ended). */
  whenClosed: Promise<void>;
}

interface TestServer {
  url: string;
  hub: StreamHub;
  follows: FollowRecord[];
  followsOf(channel: string): FollowRecord[];
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css' };

/** Resolves when the follower's connection closed; fails with a message (not the test's timeout) when it stays open. */
async function leaves(follow: FollowRecord | undefined): Promise<void> {
  if (!follow) throw new Error('the server saw no follow request');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the follower of ${follow.channel} never left: its connection is still open`)), budget(15_000));
  });
  try {
    await Promise.race([follow.whenClosed, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Serves the built page and a hub: `GET /streams/<channel>` follows, `POST /streams/<channel>/stop` stops. */
async function startServer(pageDir: string, hubOptions: StreamHubOptions): Promise<TestServer> {
  const hub = new StreamHub({ retryMs: 100, ...hubOptions });
  const sse = hub.handler();
  const follows: FollowRecord[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const stream = /^\/streams\/([^/]+)(\/stop)?$/.exec(path);
    if (stream) {
      const channel = stream[1]!;
      if (req.method === 'GET') {
        const record: FollowRecord = { channel, closed: false, whenClosed: Promise.resolve() };
        record.whenClosed = new Promise<void>((done) =>
          res.on('close', () => {
            record.closed = true;
            done();
          }),
        );
        follows.push(record);
      }
      sse(req, res, channel).catch(() => res.destroy());
      return;
    }
    let file = resolve(pageDir, `.${path}`);
    if (!file.startsWith(pageDir + sep)) file = join(pageDir, 'index.html');
    void stat(file)
      .then((info) => (info.isFile() ? file : join(pageDir, 'index.html')))
      .catch(() => join(pageDir, 'index.html'))
      .then((found) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(found)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(readFileSync(found));
      });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((done, fail) => {
    server.once('listening', done);
    server.once('error', fail);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hub,
    follows,
    followsOf: (channel) => follows.filter((follow) => follow.channel === channel),
    async close() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** A request asking the mock `prompt`. */
const ask = (prompt: string) => ({ model: 'test-model', messages: [{ role: 'user' as const, content: prompt }] });

describe.skipIf(skipWithoutChromium('tokenflow/react'))('useTokenStream in Chromium', () => {
  const chromium = useBrowser();
  let pageDir = '';
  let page: BuiltPage | undefined;

  // Development mode: StrictMode double-invokes effects only there (the page's probe checks it ran).
  setupOnce(async () => {
    page = await buildTestPage(PAGE_SOURCE, {
      alias: [
          { find: /^tokenflow\/react$/, replacement: join(root, 'src/react/index.ts') },
          { find: /^tokenflow\/client$/, replacement: join(root, 'src/client/index.ts') },
        ],
    });
    pageDir = page.dir;
  }, 90_000);

  afterAll(async () => {
    await page?.remove();
  });

  /** What one test starts, closed when it finishes: pages first (they hold connections), then servers. */
  function scope(onTestFinished: TestContext['onTestFinished']) {
    const cleanups = testCleanups(onTestFinished);
    return {
      async mock(script: MockScript | ((request: MockRequest) => MockScript), faults?: MockFault | ((request: MockRequest) => MockFault | undefined)): Promise<MockProvider> {
        const mock = await startMockProvider({ flavor: 'openai', script, profile: FAST, ...(faults ? { faults } : {}) });
        cleanups.push(() => mock.close());
        return mock;
      },
      async server(gate?: GatedLog): Promise<TestServer> {
        const server = await startServer(pageDir, gate ? { log: gate.log } : {});
        cleanups.push(() => server.close());
        // Runs before the hub's close, which waits for held appends.
        if (gate) cleanups.push(async () => gate.open());
        return server;
      },
      /** A page of the test page; errors thrown in it, and console errors unless `allowConsoleErrors`, fail the test. */
      async page(server: TestServer, options: { allowConsoleErrors?: boolean } = {}): Promise<Page> {
        const context: BrowserContext = await chromium.context();
        const errors: string[] = [];
        context.on('weberror', (error) => errors.push(String(error.error())));
        cleanups.push(async () => {
          await context.close();
          if (errors.length > 0) throw new Error(`errors in the page: ${errors.join('; ')}`);
        });
        const page = await context.newPage();
        if (!options.allowConsoleErrors) page.on('console', (message) => void (message.type() === 'error' && errors.push(`console: ${message.text()}`)));
        page.setDefaultTimeout(budget(15_000));
        await page.goto(server.url);
        await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
        // requestAnimationFrame runs (the hook shows tokens once per frame).
        expect(await page.evaluate(() => document.visibilityState)).toBe('visible');
        return page;
      },
    };
  }

  const mount = (page: Page, spec: SourceSpec, strict = false) => page.evaluate(([s, st]) => window.harness!.mount(s, { strict: st }), [spec, strict] as const);
  const setSource = (page: Page, spec: SourceSpec) => page.evaluate((s) => window.harness!.setSource(s), spec);
  const textOf = async (page: Page) => (await page.getByTestId('text').textContent()) ?? '';
  const statusOf = (page: Page) => page.getByTestId('stream').getAttribute('data-status');
  const statusIs = (page: Page, status: string) => page.waitForSelector(`[data-testid="stream"][data-status="${status}"]`, { state: 'attached' });
  const shows = (page: Page, text: string) => page.waitForFunction((t) => document.querySelector('[data-testid="text"]')?.textContent === t, text);
  const metricsOf = async (page: Page) => JSON.parse((await page.getByTestId('metrics').textContent()) ?? 'null') as Record<string, unknown>;
  const toolsOf = async (page: Page) => JSON.parse((await page.getByTestId('tools').textContent()) ?? 'null') as Array<Record<string, unknown>>;
  const errorOf = async (page: Page) => (await page.getByTestId('error').textContent()) ?? '';
  const countsOf = (page: Page) => page.evaluate(() => ({ ...window.harness!.counts }));
  const commitsOf = (page: Page) => page.evaluate(() => window.harness!.commits.map((c) => ({ ...c })));

  /** Publishes `stream$` on a fresh channel; `events` gets what the hub's one subscription received: the producer's events. */
  async function publish(server: TestServer, stream$: Observable<TokenEvent>): Promise<{ channel: string; events: TokenEvent[] }> {
    const channel = randomUUID();
    const events: TokenEvent[] = [];
    await server.hub.publish(channel, stream$.pipe(tap((event) => events.push(event))));
    return { channel, events };
  }

  it('a URL source: the text grows over several paints, then `done` with its stop reason and the whole answer', async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const llm = makeProvider('openai', await mock({ text: WORDS }));
    const gate = gatedLog();
    const web = await server(gate);
    const { channel } = await publish(web, llm.stream(ask('rivers')));
    const tab = await page(web);
    await mount(tab, { kind: 'url', url: `/streams/${channel}` });
    await statusIs(tab, 'streaming');

    // Three tokens one at a time, each on the page before the next is let through: three paints.
    for (let i = 0; i < 3; i++) await shows(tab, await letTokensThrough(gate, 1));
    expect(await statusOf(tab)).toBe('streaming');
    gate.open();

    await statusIs(tab, 'done');
    expect(await textOf(tab)).toBe(ANSWER);
    expect(await tab.getByTestId('stream').getAttribute('data-stop-reason')).toBe('end');
    expect(await errorOf(tab)).toBe('');
    const commits = await commitsOf(tab);
    const partial = commits.filter((c) => c.status === 'streaming' && c.text.length > 0);
    expect(partial.length, JSON.stringify(commits)).toBeGreaterThanOrEqual(3);
    // The text grows, never replaced, and ends whole.
    for (let i = 1; i < partial.length; i++) expect(partial[i]!.text.startsWith(partial[i - 1]!.text)).toBe(true);
    expect(commits.at(-1)).toMatchObject({ text: ANSWER, status: 'done' });
    expect(web.followsOf(channel)).toHaveLength(1);
  });

  it("a follower's figures are the server's: the tab that joins mid-answer shows the same time to first token and tokens per second as the producer", async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const llm = makeProvider('openai', await mock({ text: WORDS }));
    const gate = gatedLog();
    const web = await server(gate);
    const { channel, events } = await publish(web, llm.stream(ask('rivers')));
    const early = await page(web);
    await mount(early, { kind: 'url', url: `/streams/${channel}` });
    await shows(early, await letTokensThrough(gate, 4));

    // The second tab opens now, well after the answer's start on its own clock.
    const late = await page(web);
    await mount(late, { kind: 'url', url: `/streams/${channel}` });
    await shows(late, tokensLetThrough(gate));
    const firstToken = events.find((event) => event.type === 'token')!;
    for (const tab of [early, late]) expect((await metricsOf(tab)).ttftMs).toBe(firstToken.t);
    gate.open();

    await Promise.all([statusIs(early, 'done'), statusIs(late, 'done')]);
    const expected = expectedMetrics(await producerAnswer(events));
    expect(expected.tokensPerSecond).toBeGreaterThan(0);
    for (const tab of [early, late]) expect(await metricsOf(tab)).toEqual(expected);
  });

  it("an Agent's tool loop: the call with its input, then its result, then the answer, with the loop's figures", async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const script = (request: MockRequest): MockScript =>
      request.toolResults.length === 0
        ? { text: ['Let', ' me', ' check.'], toolCalls: [{ id: 'call_w1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }] }
        : { text: ['Sunny', ' in', ' Paris.'] };
    const provider = await mock(script);
    const weather = tool({ description: 'The weather in a city.', inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
    const agent = new Agent({ provider: makeProvider('openai', provider), model: 'test-model' });
    const gate = gatedLog();
    const web = await server(gate);
    const { channel, events } = await publish(web, agent.stream('Weather in Paris?', { tools: { weather } }));
    const tab = await page(web);
    await mount(tab, { kind: 'url', url: `/streams/${channel}` });

    // Step 0 is over: its call is complete, its tool has not answered yet.
    await letThroughUntil(gate, 'step-finish');
    await tab.waitForFunction(() => (document.querySelector('[data-testid="tools"]')?.textContent ?? '').includes('"Paris\\"}"'));
    expect(await toolsOf(tab)).toEqual([{ id: 'call_w1', step: 0, name: 'weather', input: '{"city":"Paris"}' }]);
    expect(await textOf(tab)).toBe('Let me check.');

    await letThroughUntil(gate, 'tool-result');
    await tab.waitForFunction(() => (document.querySelector('[data-testid="tools"]')?.textContent ?? '').includes('"output"'));
    const [call] = await toolsOf(tab);
    expect(call).toMatchObject({ id: 'call_w1', step: 0, name: 'weather', input: '{"city":"Paris"}', output: { city: 'Paris', temperature: 21 }, isError: false });
    expect(call!.durationMs).toBe((events.find((event) => event.type === 'tool-result') as { durationMs: number }).durationMs);
    gate.open();

    await statusIs(tab, 'done');
    expect(await textOf(tab)).toBe('Let me check.Sunny in Paris.');
    expect(await metricsOf(tab)).toEqual(expectedMetrics(await producerAnswer(events)));
    expect(provider.requests).toHaveLength(2);
  });

  it('stop() closes the connection (the server sees the follower leave) and shows `stopped` with the text kept', async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const llm = makeProvider('openai', await mock({ text: WORDS }));
    const gate = gatedLog();
    const web = await server(gate);
    const { channel } = await publish(web, llm.stream(ask('rivers')));
    const tab = await page(web);
    await mount(tab, { kind: 'url', url: `/streams/${channel}` });
    const shown = await letTokensThrough(gate, 3);
    await shows(tab, shown);
    const [follow] = web.followsOf(channel);
    expect(follow?.closed).toBe(false);

    await tab.getByTestId('stop').click();
    await leaves(follow);
    expect(web.hub.followerCount(channel)).toBe(0);
    await statusIs(tab, 'stopped');
    expect(await textOf(tab)).toBe(shown);
    expect(await errorOf(tab)).toBe('');
    expect(await statusOf(tab)).toBe('stopped');
    // Leaving is not stopping: the answer goes on for others (the hub's grace period).
    expect((await web.hub.info(channel))?.finished).toBe(false);
    expect(web.followsOf(channel)).toHaveLength(1);
  });

  it("the hub's stop from elsewhere (another client's POST) shows as `stopped`, not `error`, with the text kept", async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    // The upstream writes five tokens, then stalls with its request open: the stop always finds it mid-answer.
    const provider = await mock({ text: WORDS }, { stallAfter: 5 });
    const llm = makeProvider('openai', provider);
    const web = await server();
    const { channel } = await publish(web, llm.stream(ask('rivers')));
    const tab = await page(web);
    await mount(tab, { kind: 'url', url: `/streams/${channel}` });
    const shown = WORDS.slice(0, 5).join('');
    await shows(tab, shown);

    const response = await fetch(`${web.url}/streams/${channel}/stop`, { method: 'POST' });
    expect(response.status).toBeLessThan(300);
    await statusIs(tab, 'stopped');
    expect(await textOf(tab)).toBe(shown);
    expect(await errorOf(tab)).toBe('');
    expect((await commitsOf(tab)).some((c) => c.status === 'error')).toBe(false);
    // The stop reached the provider: its request was closed mid-answer.
    expect((await provider.waitForClose(0)).closedByClient).toBe(true);
  });

  it('a source change unsubscribes from the old stream first and shows only the new one', async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const alpha = 'Alpha stays open after three words and never ends.';
    const bravo = 'Bravo answers in full.';
    const split = (text: string) => text.split(/(?= )/);
    const prompt = (request: MockRequest) => JSON.stringify(request.body?.messages ?? '');
    const llm = makeProvider(
      'openai',
      await mock(
        (request) => ({ text: split(prompt(request).includes('alpha') ? alpha : bravo) }),
        (request) => (prompt(request).includes('alpha') ? { stallAfter: 3 } : undefined),
      ),
    );
    const web = await server();
    const a = await publish(web, llm.stream(ask('alpha')));
    const b = await publish(web, llm.stream(ask('bravo')));
    const tab = await page(web);
    await mount(tab, { kind: 'url', url: `/streams/${a.channel}` });
    await shows(tab, split(alpha).slice(0, 3).join(''));

    await setSource(tab, { kind: 'url', url: `/streams/${b.channel}` });
    await leaves(web.followsOf(a.channel)[0]);
    await statusIs(tab, 'done');
    expect(await textOf(tab)).toBe(bravo);
    // Every commit shows the answer of the source it was rendered with: never the old text under
    // the new source, not even in the render before the new subscription's first state.
    const commits = await commitsOf(tab);
    const bySource = (url: string) => commits.filter((c) => c.source === JSON.stringify({ kind: 'url', url }));
    const underA = bySource(`/streams/${a.channel}`);
    const underB = bySource(`/streams/${b.channel}`);
    expect(underA.length + underB.length).toBe(commits.length);
    for (const c of underA) expect(alpha.startsWith(c.text)).toBe(true);
    for (const c of underB) expect(bravo.startsWith(c.text), JSON.stringify(c)).toBe(true);
    expect(underB[0]).toEqual({ source: underB[0]!.source, text: '', status: 'streaming' });

    // And to nothing: back to idle, the connection closed.
    await setSource(tab, { kind: 'none' });
    await statusIs(tab, 'idle');
    expect(await textOf(tab)).toBe('');
    expect(web.followsOf(a.channel)).toHaveLength(1);
    expect(web.followsOf(b.channel)).toHaveLength(1);
  });

  it('an Observable source, then a factory source: the old subscription ends before the new one starts, one each', async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    // The first answer stalls after three tokens, so the switch finds its subscription open.
    const first = (request: MockRequest) => JSON.stringify(request.body?.messages ?? '').includes('first');
    const llm = makeProvider('openai', await mock({ text: WORDS }, (request) => (first(request) ? { stallAfter: 3 } : undefined)));
    const web = await server();
    const one = await publish(web, llm.stream(ask('first')));
    const two = await publish(web, llm.stream(ask('second')));
    const tab = await page(web);

    await mount(tab, { kind: 'observable', url: `/streams/${one.channel}` });
    await shows(tab, WORDS.slice(0, 3).join(''));
    expect(await countsOf(tab)).toMatchObject({ subscribed: 1, unsubscribed: 0 });

    await setSource(tab, { kind: 'factory', url: `/streams/${two.channel}` });
    await statusIs(tab, 'done');
    expect(await textOf(tab)).toBe(ANSWER);
    await leaves(web.followsOf(one.channel)[0]);
    // The factory is called once, after the Observable was unsubscribed; the stream it made ended with `done`.
    expect(await tab.evaluate(() => [...window.harness!.log])).toEqual(['subscribe observable', 'unsubscribe observable', 'call factory', 'subscribe factory', 'unsubscribe factory']);
    expect(web.followsOf(one.channel)).toHaveLength(1);
    expect(web.followsOf(two.channel)).toHaveLength(1);
  });

  it('unmounting unsubscribes: the connection closes', async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const llm = makeProvider('openai', await mock({ text: WORDS }, { stallAfter: 4 }));
    const web = await server();
    const { channel } = await publish(web, llm.stream(ask('rivers')));
    const tab = await page(web);
    await mount(tab, { kind: 'observable', url: `/streams/${channel}` });
    await shows(tab, WORDS.slice(0, 4).join(''));
    expect(await countsOf(tab)).toMatchObject({ subscribed: 1, unsubscribed: 0 });

    await tab.evaluate(() => window.harness!.unmount());
    await leaves(web.followsOf(channel)[0]);
    expect(await countsOf(tab)).toMatchObject({ subscribed: 1, unsubscribed: 1 });
    expect(await tab.getByTestId('stream').count()).toBe(0);
  });

  it("StrictMode's double effects leave one subscription and lose no text (a URL and an Observable source)", async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const llm = makeProvider('openai', await mock({ text: WORDS }));
    const gate = gatedLog();
    const web = await server(gate);
    const { channel } = await publish(web, llm.stream(ask('rivers')));
    const tab = await page(web);

    await mount(tab, { kind: 'url', url: `/streams/${channel}` }, true);
    await shows(tab, await letTokensThrough(gate, 2));
    // StrictMode is really on: the probe's mount effect ran twice.
    expect((await countsOf(tab)).probeEffects).toBe(2);
    expect(web.followsOf(channel).map((f) => f.closed)).toEqual([false]);
    gate.open();
    await statusIs(tab, 'done');
    expect(await textOf(tab)).toBe(ANSWER);
    expect(web.followsOf(channel)).toHaveLength(1);

    const second = await publish(web, llm.stream(ask('again')));
    await mount(tab, { kind: 'observable', url: `/streams/${second.channel}` }, true);
    await statusIs(tab, 'done');
    expect(await textOf(tab)).toBe(ANSWER);
    expect(await countsOf(tab)).toMatchObject({ probeEffects: 4, subscribed: 1, unsubscribed: 1 });
    expect(web.followsOf(second.channel)).toHaveLength(1);
  });

  it('a reset (a mid-stream retry on the server) clears the text, then the retried answer streams whole', async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    // The first request's connection is cut after three tokens; the retry answers in full.
    const provider = await mock({ text: WORDS }, (request) => (request.index === 0 ? { resetAfter: 3 } : undefined));
    const llm = makeProvider('openai', provider);
    const gate = gatedLog();
    const web = await server(gate);
    const { channel } = await publish(web, llm.stream(ask('rivers')).pipe(retryMidStream({ backoff: () => 0 })));
    const tab = await page(web);
    await mount(tab, { kind: 'url', url: `/streams/${channel}` });
    // Two of the three tokens written before the cut: surely read before it (a third may be lost with the connection).
    await shows(tab, await letTokensThrough(gate, 2));

    await letThroughUntil(gate, 'reset');
    await shows(tab, '');
    expect(await statusOf(tab)).toBe('streaming');
    expect((await metricsOf(tab)).tokens).toBe(0);
    gate.open();

    await statusIs(tab, 'done');
    expect(await textOf(tab)).toBe(ANSWER);
    expect(provider.requests).toHaveLength(2);
  });

  it('tokens arriving in many tasks are shown at most once per animation frame, all of them', async ({ onTestFinished }) => {
    const { server, page } = scope(onTestFinished);
    const tab = await page(await server());
    await mount(tab, { kind: 'subject' });
    await tab.evaluate((event) => window.harness!.push([event]), start);
    const tokens = Array.from({ length: 150 }, (_, i) => token(`w${i} `, 10 + i, i));
    const { frames } = await tab.evaluate((events) => window.harness!.pushEach(events), tokens);
    const end: TokenEvent[] = [
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 150, estimated: false }, t: 200 },
      { type: 'done', stopReason: 'max_tokens', t: 201 },
    ];
    await tab.evaluate((events) => window.harness!.push(events), end);
    await statusIs(tab, 'done');

    const all = tokens.map((t) => (t as { text: string }).text).join('');
    expect(await textOf(tab)).toBe(all);
    expect(await tab.getByTestId('stream').getAttribute('data-stop-reason')).toBe('max_tokens');
    const streaming = (await commitsOf(tab)).filter((c) => c.status === 'streaming' && c.text !== '');
    // One render per frame at most (plus one for a frame already pending), never one per token.
    expect(streaming.length, `${streaming.length} commits over ${frames} frames`).toBeLessThanOrEqual(frames + 1);
    expect(streaming.length).toBeLessThan(tokens.length);
  });

  it('a failure is `error` with the error; a hub stop relayed by any Observable is `stopped`', async ({ onTestFinished }) => {
    const { server, page } = scope(onTestFinished);
    const web = await server();
    const tab = await page(web, { allowConsoleErrors: true });

    // An unknown channel: the hub answers 404, which fromSSE does not retry.
    await mount(tab, { kind: 'url', url: `/streams/${randomUUID()}` });
    await statusIs(tab, 'error');
    expect(await errorOf(tab)).toMatch(/^SSEResponseError: /);

    const ends: Array<[SubjectEnd, string, RegExp]> = [
      [{ kind: 'error', message: 'the model fell over' }, 'error', /^Error: the model fell over$/],
      [{ kind: 'hub-stop', partialText: 'Hi' }, 'stopped', /^$/],
      [{ kind: 'complete' }, 'done', /^$/],
    ];
    for (const [how, status, error] of ends) {
      await mount(tab, { kind: 'subject' });
      await tab.evaluate((events) => window.harness!.push(events), [start, token('Hi', 5)]);
      await shows(tab, 'Hi');
      await tab.evaluate((h) => window.harness!.end(h), how);
      await statusIs(tab, status);
      expect(await textOf(tab)).toBe('Hi');
      expect(await errorOf(tab)).toMatch(error);
    }
  });

  it('bad input throws an InvalidArgumentError naming `source` during render (an error boundary catches it)', async ({ onTestFinished }) => {
    const { server, page } = scope(onTestFinished);
    // React reports errors caught by a boundary on the console.
    const tab = await page(await server(), { allowConsoleErrors: true });
    for (const [value, described] of [
      ['number', 'the number 42'],
      ['object', 'an object'],
      ['promise', 'an object of class Promise'],
    ] as const) {
      await mount(tab, { kind: 'bad', value });
      const error = tab.getByTestId('render-error');
      await error.waitFor({ state: 'attached' });
      expect(await error.getAttribute('data-name')).toBe('InvalidArgumentError');
      expect(await error.getAttribute('data-field')).toBe('source');
      expect(await error.textContent()).toContain(described);
    }
  });
});
