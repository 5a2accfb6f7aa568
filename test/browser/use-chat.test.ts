/**
 * `useChat` from `@ai-sdk/react` in real headless Chromium against a tokenflow `StreamHub` (issue 19,
 * Tests): the page (test/browser/use-chat-page) uses `DefaultChatTransport` with `resume: true`, and
 * the server speaks the routes of docs/protocols.md ("useChat on the hub"): `POST /api/chat`
 * publishes the answer on the hub and follows it in the UI message stream format,
 * `GET /api/chat/:id/stream` resumes it (204 when nothing is in progress), `POST /api/chat/:id/stop`
 * stops it; `GET /api/chat/:id/messages` gives a reloaded page the chat's messages back.
 *
 * The page is built once with Vite's `build()` in development mode and served with the API on
 * 127.0.0.1; the mock provider answers. "Mid-answer" is made, never raced: the hub's log is gated
 * (helpers/gated-log.ts), or the mock stalls and never finishes on its own. The only clocks are hang
 * guards scaled for load (helpers/budget.ts). Every page fails its test on a thrown error, a console
 * error or warning, an error status, or a failed request other than the ones the test names.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { Observable } from 'rxjs';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { fromUIMessages, uiMessageStreamHubFormat } from '../../src/ai-sdk/index.js';
import type { ChatMessage, TokenEvent } from '../../src/events.js';
import { StreamHub } from '../../src/sse/index.js';
import { startMockProvider, type MockFault, type MockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { skipWithoutChromium, useBrowser } from '../helpers/browser.js';
import { budget } from '../helpers/budget.js';
import { gatedLog, letTokensThrough, tokensLetThrough, type GatedLog } from '../helpers/gated-log.js';
import { listenLocal } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';
import { setupOnce } from '../helpers/setup.js';
import { buildTestPage, testCleanups, type BuiltPage } from '../helpers/test-page.js';
import type { RenderRecord } from './use-chat-page/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PAGE_SOURCE = join(root, 'test/browser/use-chat-page');

const ANSWER = 'Rivers carve the stone, patient as the moon is slow, and the sea keeps every name they carried down from the hills.';
const WORDS = ANSWER.split(/(?= )/);

/** The weather question's two steps: a call, then the answer from its result. */
const STEP_0 = ['Let', ' me', ' look.'];
const STEP_1 = ['Sunny', ' in', ' Paris', ' today.'];
const weatherScript = (request: MockRequest): MockScript =>
  request.toolResults.length === 0
    ? { text: STEP_0, toolCalls: [{ id: 'call_w1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }] }
    : { text: STEP_1 };

/** Lets the hub's entries through one at a time until one of type `type` reached the log. */
async function letThroughUntil(gate: GatedLog, type: string): Promise<void> {
  for (;;) {
    const next = gate.entries.length + 1;
    gate.allowBelow(next);
    await gate.appended(next);
    if (gate.entries.at(-1)!.type === type) return;
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text) as Record<string, unknown>;
}

// ---- the server ------------------------------------------------------------------------------

interface ChatServer {
  url: string;
  hub: StreamHub;
  /** The API requests the server received, in order, as `METHOD /path`. */
  requests: string[];
  /** The channel of each answer the chat route published, in order. */
  channels: string[];
  /** Each response that followed a channel (the POST's answer, a resume), in order. */
  follows: FollowRecord[];
  close(): Promise<void>;
}

/** A response following a hub channel, as the server sees it. */
interface FollowRecord {
  /** `METHOD /path` */
  request: string;
  /** Resolves when the response's connection closed (the page left, or the answer ended). */
  closed: Promise<void>;
}

/** Resolves when the follower's connection closed; fails with a message (not the test's timeout) when it stays open. */
async function leaves(follow: FollowRecord | undefined): Promise<void> {
  if (!follow) throw new Error('the server saw no such follower');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the follower ${follow.request} never left: its connection is still open`)), budget(15_000));
  });
  try {
    await Promise.race([follow.closed, limit]);
  } finally {
    clearTimeout(timer);
  }
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css' };

/**
 * The page and the chat routes of docs/protocols.md on one hub; `answerWith` makes the answer to a
 * request's history (its last message is the question).
 */
async function startChatServer(pageDir: string, answerWith: (history: ChatMessage[]) => Observable<TokenEvent>, gate: GatedLog | undefined): Promise<ChatServer> {
  const hub = new StreamHub({ onError: () => {}, ...(gate ? { log: gate.log } : {}) });
  const formats = [uiMessageStreamHubFormat()];
  const answer = hub.handler({ formats, format: () => 'ui-message-stream', action: () => 'follow' });
  const resume = hub.handler({ formats, format: () => 'ui-message-stream' });
  const stop = hub.handler();
  /** chat id → the channel of its latest answer. */
  const inProgress = new Map<string, string>();
  /** chat id → the messages its latest request sent (what a reloaded page shows again). */
  const messages = new Map<string, unknown>();
  const requests: string[] = [];
  const channels: string[] = [];
  const follows: FollowRecord[] = [];
  const following = (req: IncomingMessage, res: ServerResponse): void => {
    follows.push({ request: `${req.method} ${req.url}`, closed: new Promise<void>((done) => res.once('close', done)) });
  };

  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const route = /^\/api\/chat(?:\/([^/]+)(?:\/(stream|stop|messages))?)?$/.exec(path);
      if (route) {
        requests.push(`${req.method} ${path}`);
        const [, encodedId, action] = route;
        if (req.method === 'POST' && encodedId === undefined) {
          const body = await readJson(req);
          const chatId = String(body.id);
          const channel = `${chatId}-${channels.length + 1}`;
          channels.push(channel);
          inProgress.set(chatId, channel);
          messages.set(chatId, body.messages);
          await hub.publish(channel, answerWith(fromUIMessages(body.messages as never)));
          following(req, res);
          return answer(req, res, channel);
        }
        const chatId = decodeURIComponent(encodedId ?? '');
        if (req.method === 'GET' && action === 'messages') {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          return void res.end(JSON.stringify(messages.get(chatId) ?? []));
        }
        const channel = inProgress.get(chatId);
        if (req.method === 'GET' && action === 'stream') {
          // Nothing in progress: 204 tells useChat there is nothing to resume.
          if (channel === undefined || (await hub.info(channel))?.finished !== false) return void res.writeHead(204).end();
          following(req, res);
          return resume(req, res, channel);
        }
        if (req.method === 'POST' && action === 'stop') {
          if (channel === undefined) return void res.writeHead(204).end();
          return stop(req, res, channel);
        }
        return void res.writeHead(404).end();
      }
      // A request the server never answers: the page guard's test aborts it, and an abort can only
      // win against a response that never comes (a 404 could beat it on a loaded machine).
      if (path === '/never') return void res.once('close', () => res.destroy());
      // The page's files; anything else is a 404, which the page guard reports.
      const file = resolve(pageDir, `.${path === '/' ? '/index.html' : decodeURIComponent(path)}`);
      const found = file.startsWith(pageDir + sep) && (await stat(file).catch(() => undefined))?.isFile();
      if (!found) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(readFileSync(file));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const local = await listenLocal(server);
  return {
    url: local.origin,
    hub,
    requests,
    channels,
    follows,
    async close() {
      await hub.close();
      await local.close();
    },
  };
}

// ---- the tests -------------------------------------------------------------------------------

describe.skipIf(skipWithoutChromium('useChat on a StreamHub'))('useChat (@ai-sdk/react) in Chromium on a StreamHub', () => {
  const chromium = useBrowser();
  let pageDir = '';
  let page: BuiltPage | undefined;

  setupOnce(async () => {
    // swr (used by @ai-sdk/react) marks its modules 'use client', which only matters to server components.
    page = await buildTestPage(PAGE_SOURCE, { ignoreWarnings: ['MODULE_LEVEL_DIRECTIVE'] });
    pageDir = page.dir;
  }, 90_000);

  afterAll(async () => {
    await page?.remove();
  });

  /** A chat page and what it did: the requests that failed, and everything else that went wrong. */
  interface ChatPage {
    tab: Page;
    chatId: string;
    /** Failed requests, as `METHOD /path errorText`. */
    failed: string[];
    /** Thrown errors, console errors and warnings, error statuses. */
    problems: string[];
  }

  /** What one test starts, closed when it finishes: pages first (they hold connections), then servers. */
  function scope(onTestFinished: TestContext['onTestFinished']) {
    const cleanups = testCleanups(onTestFinished);
    return {
      async mock(script: MockScript | ((request: MockRequest) => MockScript), faults?: MockFault): Promise<MockProvider> {
        const mock = await startMockProvider({ flavor: 'openai', script, ...(faults ? { faults } : {}) });
        cleanups.push(() => mock.close());
        return mock;
      },
      async server(answerWith: (history: ChatMessage[]) => Observable<TokenEvent>, gate?: GatedLog): Promise<ChatServer> {
        const server = await startChatServer(pageDir, answerWith, gate);
        cleanups.push(() => server.close());
        // Runs before the hub's close, which waits for held appends.
        if (gate) cleanups.push(async () => gate.open());
        return server;
      },
      /**
       * Opens the chat page on a fresh chat id (in a fresh context) and waits for useChat's resume
       * on load to have answered. When the test ends, the failed requests must be exactly
       * `expectFailed` (each `METHOD /path errorText`), and nothing else may have gone wrong.
       */
      async page(server: ChatServer, expectFailed: () => string[] = () => []): Promise<ChatPage> {
        const context = await chromium.context();
        const failed: string[] = [];
        const problems: string[] = [];
        context.on('weberror', (error) => problems.push(`thrown: ${String(error.error())}`));
        context.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
        });
        context.on('requestfailed', (request) => failed.push(`${request.method()} ${new URL(request.url()).pathname} ${request.failure()?.errorText ?? ''}`));
        context.on('response', (response) => {
          if (response.status() >= 400) problems.push(`status ${response.status()}: ${response.request().method()} ${response.url()}`);
        });
        cleanups.push(async () => {
          await context.close();
          expect(problems, 'the page had problems').toEqual([]);
          expect(failed.sort(), 'the requests that failed').toEqual(expectFailed().sort());
        });
        const tab = await context.newPage();
        tab.setDefaultTimeout(budget(15_000));
        const chatId = randomUUID();
        await tab.goto(`${server.url}/?chat=${chatId}`);
        await ready(tab, 'none');
        return { tab, chatId, failed, problems };
      },
    };
  }

  /** Waits for the page to have started and useChat's resume on load to have answered as `resume`. */
  async function ready(tab: Page, resume: 'none' | 'resumed'): Promise<void> {
    await tab.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    await tab.waitForSelector(`body[data-resume="${resume}"]`, { state: 'attached' });
    // requestAnimationFrame and React's scheduler run as in a visible tab.
    expect(await tab.evaluate(() => document.visibilityState)).toBe('visible');
  }

  async function send(tab: Page, text: string): Promise<void> {
    await tab.getByTestId('draft').fill(text);
    await tab.getByTestId('send').click();
  }

  const statusIs = (tab: Page, status: string) => tab.waitForSelector(`[data-testid="chat"][data-status="${status}"]`, { state: 'attached' });
  const answerOf = async (tab: Page) => (await tab.getByTestId('answer').textContent()) ?? '';
  const answerIs = (tab: Page, text: string) => tab.waitForFunction((t) => document.querySelector('[data-testid="answer"]')?.textContent === t, text);
  const rendersOf = (tab: Page): Promise<RenderRecord[]> => tab.evaluate(() => window.chatHarness!.renders.map((r) => ({ ...r })));
  /** The page's messages as shown: role, and each part's type, state and content. */
  const shownMessages = (tab: Page) =>
    tab.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-testid="message"]')].map((message) => ({
        role: message.dataset.role,
        parts: [...message.querySelectorAll<HTMLElement>('[data-part]')].map((part) =>
          part.dataset.part === 'tool'
            ? {
                part: 'tool',
                tool: part.dataset.tool,
                callId: part.dataset.callId,
                state: part.dataset.state,
                input: part.querySelector('[data-field="input"]')?.textContent,
                output: part.querySelector('[data-field="output"]')?.textContent,
              }
            : { part: part.dataset.part, state: part.dataset.state, text: part.textContent },
        ),
      })),
    );
  const toolPart = (tab: Page, state: string) => tab.waitForSelector(`[data-part="tool"][data-state="${state}"]`, { state: 'attached' });

  it("an Agent's tool loop: the text grows over several paints, the weather call shows its input then its output, and the whole answer ends `ready`", async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const provider = await mock(weatherScript);
    const weather = tool({ description: 'The weather in a city.', inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
    const agent = new Agent({ provider: makeProvider('openai', provider), model: 'test-model' });
    const gate = gatedLog();
    const web = await server((history) => {
      const question = history.pop()!;
      return agent.stream(question.content as string, { history, tools: { weather } });
    }, gate);
    const { tab } = await page(web);
    await send(tab, 'Weather in Paris?');

    // Three tokens one at a time, each on the page before the next is let through: three paints.
    for (let i = 0; i < 3; i++) await answerIs(tab, await letTokensThrough(gate, 1));
    expect(await tab.getByTestId('chat').getAttribute('data-status')).toBe('streaming');

    // Step 0 is over: the call is complete, the tool has not answered yet.
    await letThroughUntil(gate, 'step-finish');
    await toolPart(tab, 'input-available');
    const call = { part: 'tool', tool: 'weather', callId: 'call_w1', input: '{"city":"Paris"}' };
    expect((await shownMessages(tab))[1]?.parts[2]).toEqual({ ...call, state: 'input-available', output: '' });

    await letThroughUntil(gate, 'tool-result');
    await toolPart(tab, 'output-available');
    expect((await shownMessages(tab))[1]?.parts[2]).toEqual({ ...call, state: 'output-available', output: '{"city":"Paris","temperature":21}' });
    gate.open();

    const whole = [...STEP_0, ...STEP_1].join('');
    await answerIs(tab, whole);
    await statusIs(tab, 'ready');
    expect(await shownMessages(tab)).toEqual([
      { role: 'user', parts: [{ part: 'text', state: '', text: 'Weather in Paris?' }] },
      {
        role: 'assistant',
        parts: [
          { part: 'step-start', state: undefined, text: '' },
          { part: 'text', state: 'done', text: STEP_0.join('') },
          { ...call, state: 'output-available', output: '{"city":"Paris","temperature":21}' },
          { part: 'step-start', state: undefined, text: '' },
          { part: 'text', state: 'done', text: STEP_1.join('') },
        ],
      },
    ]);
    expect(await tab.getByTestId('error').textContent()).toBe('');

    // The text grew over at least three commits, each a prefix of the next, and ended whole.
    const renders = await rendersOf(tab);
    const growing = [...new Set(renders.filter((r) => r.status === 'streaming' && r.text !== '').map((r) => r.text))];
    expect(growing.length, JSON.stringify(renders)).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < growing.length; i++) expect(whole.startsWith(growing[i - 1]!) && growing[i]!.startsWith(growing[i - 1]!)).toBe(true);
    expect(renders.at(-1)).toEqual({ status: 'ready', text: whole });
    // One answer: one POST, the loop's two provider requests, the second with the tool's result.
    expect(web.requests.filter((r) => r === 'POST /api/chat')).toHaveLength(1);
    expect(provider.requests).toHaveLength(2);
    expect(provider.requests[1]!.toolResults).toHaveLength(1);
  });

  it("Stop ends the message (`ready`, the text kept) and the hub's stop closes the provider's socket; a reload then has nothing to resume", async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    // Five words, then the provider stalls with its request open: only a stop can end the answer.
    const provider = await mock({ text: WORDS }, { stallAfter: 5 });
    const llm = makeProvider('openai', provider);
    const web = await server((history) => llm.stream({ model: 'test-model', messages: history }));
    // useChat's stop() aborts the page's own request: Chromium reports exactly that one as aborted.
    const { tab, chatId } = await page(web, () => ['POST /api/chat net::ERR_ABORTED']);
    await send(tab, 'Tell me about rivers.');
    const shown = WORDS.slice(0, 5).join('');
    await answerIs(tab, shown);
    await statusIs(tab, 'streaming');

    const stopped = tab.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/chat/${chatId}/stop`);
    await tab.getByTestId('stop').click();
    expect((await stopped).status()).toBe(204);
    await statusIs(tab, 'ready');
    expect(await answerOf(tab)).toBe(shown);
    expect(await tab.getByTestId('error').textContent()).toBe('');

    // The stop reached the provider: its request was closed mid-answer, by tokenflow's side.
    const closed = await provider.waitForClose(0, budget(10_000));
    expect(closed.closedByClient).toBe(true);
    expect(closed.finished).toBe(false);
    expect((await web.hub.info(web.channels[0]!))?.finished).toBe(true);

    // A stopped answer is over: the reloaded page asks to resume and is told there is nothing (204).
    await tab.reload();
    await ready(tab, 'none');
    expect(await shownMessages(tab)).toEqual([{ role: 'user', parts: [{ part: 'text', state: '', text: 'Tell me about rivers.' }] }]);
    expect(web.requests.filter((r) => r === `GET /api/chat/${chatId}/stream`)).toHaveLength(2);
    expect(provider.requests).toHaveLength(1);
  });

  it('a reload mid-answer resumes: the page replays the answer from its start and shows it whole, from the one upstream request', async ({ onTestFinished }) => {
    const { mock, server, page } = scope(onTestFinished);
    const provider = await mock({ text: WORDS });
    const llm = makeProvider('openai', provider);
    const gate = gatedLog();
    const web = await server((history) => llm.stream({ model: 'test-model', messages: history }), gate);
    // The reload cuts the page's POST mid-answer: Chromium reports exactly that one as aborted.
    const { tab, chatId } = await page(web, () => ['POST /api/chat net::ERR_ABORTED']);
    await send(tab, 'Tell me about rivers.');
    const before = await letTokensThrough(gate, 3);
    await answerIs(tab, before);

    await tab.reload();
    // The new page restored the question, asked to resume, and got the answer so far replayed.
    await ready(tab, 'resumed');
    await answerIs(tab, tokensLetThrough(gate));
    expect(await answerOf(tab)).toBe(before);
    expect((await shownMessages(tab))[0]).toEqual({ role: 'user', parts: [{ part: 'text', state: '', text: 'Tell me about rivers.' }] });
    expect(await tab.getByTestId('chat').getAttribute('data-status')).toBe('streaming');
    // The page that left is no follower any more; the resumed one is.
    expect(web.follows.map((f) => f.request)).toEqual(['POST /api/chat', `GET /api/chat/${chatId}/stream`]);
    await leaves(web.follows[0]);
    expect(web.hub.followerCount(web.channels[0]!)).toBe(1);

    gate.open();
    await answerIs(tab, ANSWER);
    await statusIs(tab, 'ready');
    const [, reply] = await shownMessages(tab);
    expect(reply).toEqual({ role: 'assistant', parts: [{ part: 'step-start', state: undefined, text: '' }, { part: 'text', state: 'done', text: ANSWER }] });
    const renders = await rendersOf(tab);
    expect(renders.at(-1)).toEqual({ status: 'ready', text: ANSWER });
    // Resuming replays from the start: the reloaded page never showed less than a prefix of the answer.
    for (const render of renders) expect(ANSWER.startsWith(render.text)).toBe(true);

    // One answer, from one upstream request: the resume followed it, and asked the provider nothing.
    expect(provider.requests).toHaveLength(1);
    expect(web.requests.filter((r) => r === 'POST /api/chat')).toHaveLength(1);
    expect(web.requests.filter((r) => r === `GET /api/chat/${chatId}/stream`)).toHaveLength(2);
    expect(web.channels).toHaveLength(1);
  });

  it('the page guard sees what goes wrong: a request that fails, an error status, a console error', async ({ onTestFinished }) => {
    const { server, page } = scope(onTestFinished);
    const web = await server(() => {
      throw new Error('no answer is asked for in this test');
    });
    const opened = await page(web, () => ['GET /never net::ERR_ABORTED']);
    const { tab } = opened;
    // Each is seen by the page's listeners once the page's own event for it has fired (the context's fire in the same turn).
    const seen = Promise.all([
      tab.waitForEvent('response', (r) => r.url().endsWith('/missing')),
      tab.waitForEvent('console', (m) => m.text().startsWith('Failed to load resource')),
      tab.waitForEvent('console', (m) => m.text() === 'a console error'),
      tab.waitForEvent('requestfailed', (r) => r.url().endsWith('/never')),
    ]);
    await tab.evaluate(async () => {
      // Read whole: an unread body is cut when the page closes, which Chromium reports as aborted.
      await (await fetch('/missing')).text();
      const controller = new AbortController();
      const never = fetch('/never', { signal: controller.signal }).catch(() => undefined);
      controller.abort();
      await never;
      console.error('a console error');
    });
    await seen;
    expect([...opened.problems].sort()).toEqual([
      expect.stringMatching(/^console error: Failed to load resource: .*404/),
      'console error: a console error',
      expect.stringMatching(/^status 404: GET http:\/\/127\.0\.0\.1:\d+\/missing$/),
    ]);
    expect(opened.failed).toEqual(['GET /never net::ERR_ABORTED']);
    // Seen, so they are not this test's failure.
    opened.problems.length = 0;
  });
});
