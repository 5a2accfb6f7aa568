/**
 * The web example (examples/web): its server's API and mock bank over loopback HTTP, then the chat
 * page in real headless Chromium: the React page follows each answer over SSE from the example
 * server, which relays the mock provider through a StreamHub.
 *
 * The page is built once for this file with `vite build` and served statically: deterministic
 * (no dependency pre-bundling or reloads mid-test) and about as fast as Vite's middleware mode. It
 * is React's development build, as `npm run example:web` serves it: StrictMode runs every effect
 * twice, and React's warnings would reach the console (which fails the test). Everything listens on 127.0.0.1; the assertions are about order and
 * counts, never about how long something took. "Mid-answer" is made, not raced: the hub's log is
 * gated (helpers/gated-log.ts), so the page has exactly what the test let through and the rest is
 * held, or the mock stalls after a few tokens and never finishes on its own. The only clocks are
 * hang guards scaled for load (helpers/budget.ts).
 *
 * Every page context fails its test on an error thrown in the page, a console error or warning, a
 * failed request or an HTTP status of 400 or more (the favicon's 404 included), except where a test
 * says otherwise.
 *
 * Screenshots: with TOKENFLOW_SCREENSHOTS=1 the tests write docs/images/web-*.png (what
 * docs/browser.md shows); otherwise they go to this run's temporary directory, so a run never
 * changes the tree.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { lastValueFrom, takeWhile, toArray } from 'rxjs';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { buildWebExample, defaultReply, MOCK_ANSWER, mockReply, startWebExample, type WebExample } from '../../examples/web/server.js';
import type { PaintRecord } from '../../examples/web/src/paints.js';
import type { LatencyProfile, MockFault, MockRequest } from '../../src/testing/index.js';
import { skipWithoutChromium, useBrowser } from '../helpers/browser.js';
import { budget } from '../helpers/budget.js';
import { InMemoryChannelLog, type ChannelLog } from '../../src/sse/channel-log.js';
import { gatedLog, letTokensThrough, type GatedLog } from '../helpers/gated-log.js';
import { setupOnce } from '../helpers/setup.js';
import { testCleanups } from '../helpers/test-page.js';

const ANSWER =
  'Rivers carve the stone, patient as the moon is slow, and the sea keeps every name they carried ' +
  'down from the hills: the mill, the ford, the bridge.';
const WORDS = ANSWER.split(' ').length;
const STORY = mockReply('Tell me a long story.');

/** About 25 ms between tokens: the whole answer well within a second. */
const FAST: LatencyProfile = { ttftMs: 20, tokensPerSecond: 40 };
/** For the long story (about 200 tokens): mid-answer is made by a gate or a stall, not by its pace. */
const QUICK: LatencyProfile = { ttftMs: 5, tokensPerSecond: 400 };
/** A hosted model's pace, for the tests that take the screenshots (their figures show). */
const LIFELIKE: LatencyProfile = { ttftMs: 350, tokensPerSecond: 30 };
/** The upstream writes five tokens, then stalls with the request open: a Stop always finds it mid-answer. */
const STALLS: MockFault = { stallAfter: 5 };
/** What the screenshots show: small enough for the docs, wide enough for the chat's column. */
const VIEWPORT = { width: 900, height: 640 };

/** The latest user message of a mock request (Chat Completions). */
function questionOf(request: MockRequest): string {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.filter((m) => m.role === 'user').at(-1)?.content;
  return typeof last === 'string' ? last : '';
}

/**
 * A hub log that gates each answer on its own (helpers/gated-log.ts, one gate per channel): a chat
 * asks one question after another, and the gate's ids are a channel's. `current()` is the newest
 * answer's gate; `open()` lets everything through from now on.
 */
function gatedAnswers(): { log: ChannelLog; current(): GatedLog; open(): void } {
  const gates = new Map<string, GatedLog>();
  // Answers a channel that was never created as the hub's own log would.
  const none = new InMemoryChannelLog();
  let latest: GatedLog | undefined;
  let opened = false;
  const logOf = (channel: string): ChannelLog => gates.get(channel)?.log ?? none;
  return {
    log: {
      async create(channel, meta) {
        const gate = gatedLog();
        if (opened) gate.open();
        const created = await gate.log.create(channel, meta);
        if (created) {
          gates.set(channel, gate);
          latest = gate;
        }
        return created;
      },
      append: (channel, entries) => logOf(channel).append(channel, entries),
      read: (channel, afterId, limit) => logOf(channel).read(channel, afterId, limit),
      info: (channel) => logOf(channel).info(channel),
      watch: (channel, listener, onFailure) => logOf(channel).watch(channel, listener, onFailure),
      expire: (channel, ttlMs) => logOf(channel).expire(channel, ttlMs),
      async close() {
        await Promise.all([...[...gates.values()].map((gate) => gate.log.close()), none.close()]);
      },
    },
    current() {
      if (!latest) throw new Error('gatedAnswers(): no answer was published yet');
      return latest;
    },
    open() {
      opened = true;
      for (const gate of gates.values()) gate.open();
    },
  };
}

describe('web example server', () => {
  async function server(onTestFinished: TestContext['onTestFinished'], env: NodeJS.ProcessEnv = {}, mock = true): Promise<WebExample> {
    const web = await startWebExample({ page: false, ...(mock ? { mock: { profile: 'instant' } } : {}), env, log: () => undefined });
    onTestFinished(() => web.close());
    return web;
  }

  async function post(web: WebExample, path: string, body: unknown): Promise<{ status: number; json: any }> {
    const response = await fetch(`${web.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: await response.json().catch(() => undefined) };
  }

  /** The answer of a channel, read from the hub: its text and its tool results. */
  async function answerOf(web: WebExample, channel: string): Promise<{ text: string; tools: unknown[] }> {
    const messages = await lastValueFrom(web.hub.subscribe(channel).pipe(takeWhile((m) => m.event.type !== 'done', true), toArray()));
    const events = messages.map((m) => m.event);
    return {
      text: events.map((e) => (e.type === 'token' ? e.text : '')).join(''),
      tools: events.flatMap((e) => (e.type === 'tool-result' ? [e.output] : [])),
    };
  }

  it('answers from the bank by the question, remembers a name across turns, and has a default reply', () => {
    expect(mockReply('Why does streaming feel faster?')).toBe(MOCK_ANSWER);
    expect(mockReply('My name is Ada.')).toMatch(/^Nice to meet you, Ada\./);
    expect(mockReply('What is my name?', ['Hello', 'My name is Ada.'])).toMatch(/^Your name is Ada: you told me one question ago\./);
    expect(mockReply('What is my name?', ['My name is Ada.', 'Hello'])).toMatch(/^Your name is Ada: you told me 2 questions ago\./);
    expect(mockReply('What is my name?')).toMatch(/^You have not told me your name yet\./);
    expect(mockReply('Tell me a long story.').split(' ').length).toBeGreaterThan(100);
    expect(mockReply('How do I bake bread?')).toBe(defaultReply('How do I bake bread?'));
    expect(defaultReply('How do I bake bread?')).toContain('"How do I bake bread?" is not one of them');
  });

  it('keeps one Conversation per session: a follow-up is sent with the earlier turns, a new session starts empty', async ({ onTestFinished }) => {
    const web = await server(onTestFinished);
    const first = await post(web, '/api/ask', { prompt: 'My name is Ada.' });
    expect(first.status).toBe(200);
    expect((await answerOf(web, first.json.channel)).text).toBe(mockReply('My name is Ada.'));

    const second = await post(web, '/api/ask', { prompt: 'What is my name?', session: first.json.session });
    expect(second.json.session).toBe(first.json.session);
    expect((await answerOf(web, second.json.channel)).text).toBe(mockReply('What is my name?', ['My name is Ada.']));
    expect(await web.conversation(first.json.session)!.all()).toHaveLength(4);
    // The second request carried the first turn.
    expect(web.mock!.requests[1]!.body.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);

    // An id the server does not know (a restart, a made-up one) gets a new, empty session.
    const other = await post(web, '/api/ask', { prompt: 'What is my name?', session: 'made-up' });
    expect(other.json.session).not.toBe('made-up');
    expect(other.json.session).not.toBe(first.json.session);
    expect((await answerOf(web, other.json.channel)).text).toMatch(/^You have not told me your name yet\./);
    expect(web.conversation('made-up')).toBeUndefined();
  });

  it("answers a question about the time with the tool, and a later question from the bank, not from the earlier turn's result", async ({ onTestFinished }) => {
    const web = await server(onTestFinished);
    const time = await post(web, '/api/ask', { prompt: 'What time is it in Europe/Paris?' });
    const timeAnswer = await answerOf(web, time.json.channel);
    expect(timeAnswer.tools).toEqual([{ timeZone: 'Europe/Paris', time: expect.stringMatching(/^\d\d:\d\d$/) }]);
    expect(timeAnswer.text).toMatch(/^It is \d\d:\d\d in Europe\/Paris right now\.$/);

    const next = await post(web, '/api/ask', { prompt: 'Hello', session: time.json.session });
    expect((await answerOf(web, next.json.channel)).text).toBe(mockReply('Hello'));
    // The follow-up request held the first exchange's tool turn, yet the mock answered the new question.
    expect(web.mock!.requests[2]!.toolResults).toHaveLength(1);
    expect(await web.conversation(time.json.session)!.all()).toHaveLength(6);
  });

  it('says which provider answers, and refuses bad requests with a status and a message', async ({ onTestFinished }) => {
    const web = await server(onTestFinished);
    expect(await (await fetch(`${web.url}/api/config`)).json()).toEqual({ provider: 'mock', model: 'gpt-4o-mini' });
    expect(await post(web, '/api/ask', { prompt: '  ' })).toEqual({ status: 400, json: { error: 'prompt must be a non-empty string' } });
    expect(await post(web, '/api/ask', { prompt: 'x'.repeat(4001) })).toEqual({ status: 400, json: { error: 'prompt must be at most 4000 characters' } });
    expect((await fetch(`${web.url}/api/ask`)).status).toBe(405);
    expect((await fetch(`${web.url}/api/streams/no-such-channel/info`)).status).toBe(404);
    expect((await fetch(`${web.url}/api/streams/${encodeURIComponent('bad id!')}/info`)).status).toBe(404);

    const { json } = await post(web, '/api/ask', { prompt: 'Hello' });
    expect(await (await fetch(`${web.url}/api/streams/${json.channel}/info`)).json()).toEqual({ question: 'Hello', askedAt: expect.any(Number) });

    // With a key (and no mock asked for) the real provider answers; nothing is sent until a question.
    const real = await server(onTestFinished, { OPENAI_API_KEY: 'sk-test' }, false);
    expect(real.config).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(real.mock).toBeUndefined();
  });
});

describe.skipIf(skipWithoutChromium('web example'))('web example in Chromium', () => {
  const chromium = useBrowser();
  let pageDir = '';
  let tmp = '';
  let shotsDir = '';

  // A failed build fails every test (a throwing beforeAll would show them as skipped).
  setupOnce(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tokenflow-web-'));
    pageDir = await buildWebExample(join(tmp, 'dist'), 'development');
    shotsDir = process.env.TOKENFLOW_SCREENSHOTS ? fileURLToPath(new URL('../../docs/images/', import.meta.url)) : join(tmp, 'images');
    await mkdir(shotsDir, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** A screenshot for the docs (see the file's comment), without the typing dots' animation. */
  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(shotsDir, `web-${name}.png`), animations: 'disabled' });
  }

  /**
   * What one test starts (example servers, browser contexts), closed when that test finishes.
   * The tests run one after another: concurrent pages save little on two cores (each is its own
   * renderer process) and would take CPU from the socket tests in the other worker.
   */
  function scope(onTestFinished: TestContext['onTestFinished']) {
    // Pages first (they hold the SSE connections), then the servers; every one runs.
    const cleanups = testCleanups(onTestFinished);
    return {
      /**
       * `script`: the mock answers every question with ANSWER (the default), or from the example's
       * own bank (`'bank'`: replies by the question, a `time` call for questions about the time).
       */
      async start(profile: LatencyProfile, extra: { faults?: MockFault | ((request: MockRequest) => MockFault | undefined); gate?: { log: ChannelLog; open(): void }; script?: 'answer' | 'bank' } = {}): Promise<WebExample> {
        const web = await startWebExample({
          page: { dir: pageDir },
          mock: { ...(extra.script === 'bank' ? {} : { script: { text: ANSWER } }), profile, ...(extra.faults ? { faults: extra.faults } : {}) },
          // A short reconnection delay, so a cut connection resumes quickly.
          hub: { retryMs: 100, ...(extra.gate ? { log: extra.gate.log } : {}) },
          log: () => undefined,
        });
        cleanups.push(() => web.close());
        // Runs first: the hub's close waits for held appends.
        if (extra.gate) cleanups.push(async () => extra.gate!.open());
        return web;
      },
      /**
       * A fresh context (its own cookies and storage). Errors thrown in its pages, console errors
       * and warnings, failed requests and error statuses fail the test; `networkErrors` allows failed
       * requests and error statuses, and the console lines Chromium writes for them (a test that cuts
       * connections, or asks for what is not there, on purpose). A page closing its own SSE connection (Stop, or
       * `fromSSE` ending after `done`) is no failure: Chromium reports it as `net::ERR_ABORTED`.
       */
      async newContext(options: { networkErrors?: boolean } = {}): Promise<BrowserContext & { problems: string[]; requested: string[] }> {
        const context = await chromium.browser().newContext({ viewport: VIEWPORT });
        const problems: string[] = [];
        const requested: string[] = [];
        context.on('weberror', (error) => problems.push(`thrown: ${String(error.error())}`));
        context.on('console', (message) => {
          if (message.type() !== 'error' && message.type() !== 'warning') return;
          // Chromium logs a connection cut mid-response (net::ERR_INCOMPLETE_CHUNKED_ENCODING) and an error status.
          if (options.networkErrors && message.text().startsWith('Failed to load resource: ')) return;
          problems.push(`console ${message.type()}: ${message.text()}`);
        });
        context.on('request', (request) => requested.push(new URL(request.url()).pathname));
        context.on('requestfailed', (request) => {
          const closedByPage = request.failure()?.errorText === 'net::ERR_ABORTED' && request.method() === 'GET' && /^\/api\/streams\/[^/]+$/.test(new URL(request.url()).pathname);
          if (!closedByPage && !options.networkErrors) problems.push(`failed: ${request.method()} ${request.url()} ${request.failure()?.errorText}`);
        });
        context.on('response', (response) => {
          if (response.status() >= 400 && !options.networkErrors) problems.push(`status ${response.status()}: ${response.request().method()} ${response.url()}`);
        });
        cleanups.push(async () => {
          await context.close();
          if (problems.length > 0) throw new Error(`the page had problems:\n${problems.join('\n')}`);
        });
        return Object.assign(context, { problems, requested });
      },
    };
  }

  async function open(context: BrowserContext, url: string): Promise<Page> {
    const page = await context.newPage();
    // Fail inside the test's own timeout, with playwright's message (both scaled for load).
    page.setDefaultTimeout(budget(15_000));
    await page.goto(url);
    await page.getByTestId('app').waitFor();
    return page;
  }

  /** Sends `prompt` from the page's message box with the Send button; resolves to what the server answered. */
  async function send(page: Page, prompt: string): Promise<{ channel: string; session: string }> {
    const response = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/ask');
    await page.getByTestId('prompt').fill(prompt);
    await page.getByTestId('ask').click();
    const body = (await (await response).json()) as { channel: string; session: string };
    expect(body.channel).toMatch(/^[0-9a-f-]{36}$/);
    // The new turn is on the page.
    await page.locator(`[data-testid="turn"][data-channel="${body.channel}"]`).waitFor({ state: 'attached' });
    return body;
  }

  /** Opens the chat and asks; resolves to the page and the answer's channel. */
  async function ask(context: BrowserContext, web: WebExample, prompt = 'Tell me about rivers.'): Promise<{ page: Page; channel: string; session: string }> {
    const page = await open(context, web.url);
    return { page, ...(await send(page, prompt)) };
  }

  const lastTurn = (page: Page) => page.getByTestId('turn').last();
  const answerOf = (page: Page) => lastTurn(page).getByTestId('answer').textContent();
  const statusIs = (page: Page, status: string) => page.waitForSelector(`[data-testid="app"][data-status="${status}"]`, { state: 'attached' });
  const paintsOf = (page: Page) => page.evaluate(() => window.__paints ?? []);
  /** The last answer's length. */
  const lengthIn = () => {
    const answers = document.querySelectorAll('[data-testid="answer"]');
    return answers[answers.length - 1]?.textContent?.length ?? 0;
  };
  const someTextShown = (page: Page) => page.waitForFunction(`(${lengthIn.toString()})() > 0`);
  /** Waits until the page shows exactly `length` characters of the last answer. */
  const shows = (page: Page, length: number) => page.waitForFunction(`(${lengthIn.toString()})() === ${length}`);
  /** The figures of the last turn, as shown. */
  const figuresOf = async (page: Page) => ({
    ttft: await lastTurn(page).getByTestId('ttft').textContent(),
    tps: await lastTurn(page).getByTestId('tps').textContent(),
    tokens: await lastTurn(page).getByTestId('tokens').textContent(),
  });

  /** Lets the hub's entries through one at a time until one of type `type` has reached the log. */
  async function letThroughUntil(gate: GatedLog, type: string): Promise<void> {
    for (;;) {
      const next = gate.entries.length + 1;
      gate.allowBelow(next);
      await gate.appended(next);
      if (gate.entries.at(-1)!.type === type) return;
    }
  }


  it('shows the answer growing over several paints in a live region, then the whole answer with its figures', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const gate = gatedLog();
    const web = await start(FAST, { gate });
    const { page } = await ask(await newContext(), web);
    // Three tokens one at a time, each on the page before the next is let through: three paints
    // however busy the machine (a starved renderer would otherwise paint a burst at once).
    for (let i = 0; i < 3; i++) await shows(page, (await letTokensThrough(gate, 1)).length);

    // Accessible while it streams: a polite live region, busy until the answer is whole; a
    // labelled message box; the badge says what answers.
    const region = lastTurn(page).getByTestId('answer-region');
    expect(await region.getAttribute('aria-live')).toBe('polite');
    expect(await region.getAttribute('aria-busy')).toBe('true');
    expect(await page.getByLabel('Message').count()).toBe(1);
    expect(await page.getByTestId('provider').textContent()).toBe('mock provider, no key');
    expect(await lastTurn(page).getByTestId('question').textContent()).toBe('Tell me about rivers.');
    gate.open();

    await statusIs(page, 'done');
    expect(await answerOf(page)).toBe(ANSWER);
    expect(await region.getAttribute('aria-busy')).toBe('false');
    expect(web.mock!.requests).toHaveLength(1);

    const paints: PaintRecord[] = await paintsOf(page);
    const doneAt = paints.findIndex((paint) => paint.status === 'done');
    const partial = paints.filter((paint, i) => (doneAt === -1 || i < doneAt) && paint.status === 'streaming' && paint.length > 0 && paint.length < ANSWER.length);
    expect(partial.length, JSON.stringify(paints)).toBeGreaterThanOrEqual(3);
    // Each paint shows more than the one before: the text grows, it is never replaced.
    for (let i = 1; i < partial.length; i++) expect(partial[i]!.length).toBeGreaterThan(partial[i - 1]!.length);
    expect(paints.at(-1)?.length).toBe(ANSWER.length);

    // The figures are filled in, and the typing indicator is gone.
    const figures = await figuresOf(page);
    expect(figures.ttft).toMatch(/^\d+ ms$/);
    expect(figures.tps).toMatch(/^\d+\.\d$/);
    expect(figures.tokens).toBe(String(WORDS));
    expect(await page.getByTestId('typing').count()).toBe(0);
  });

  it('holds a multi-turn conversation: the second answer uses the first turn, then a tool call and a streaming answer', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const answers = gatedAnswers();
    const web = await start(LIFELIKE, { gate: answers, script: 'bank' });
    const first = await ask(await newContext(), web, 'My name is Ada.');
    const { page } = first;
    await letThroughUntil(answers.current(), 'done');
    await statusIs(page, 'done');
    expect(await answerOf(page)).toBe(mockReply('My name is Ada.'));

    const second = await send(page, 'What is my name?');
    expect(second.session).toBe(first.session);
    await letThroughUntil(answers.current(), 'done');
    await statusIs(page, 'done');
    // The bank's reply for a name told one question earlier: the request carried the first turn.
    expect(await answerOf(page)).toBe(mockReply('What is my name?', ['My name is Ada.']));
    expect(await web.conversation(first.session)!.all()).toEqual([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: mockReply('My name is Ada.') },
      { role: 'user', content: 'What is my name?' },
      { role: 'assistant', content: mockReply('What is my name?', ['My name is Ada.']) },
    ]);
    expect(await page.getByTestId('turn').count()).toBe(2);
    expect(await page.getByTestId('question').allTextContents()).toEqual(['My name is Ada.', 'What is my name?']);

    await send(page, 'What time is it in Asia/Tokyo?');
    await letThroughUntil(answers.current(), 'done');
    await statusIs(page, 'done');
    expect(await lastTurn(page).getByTestId('tool-call').count()).toBe(1);
    await screenshot(page, 'chat');

    // A long answer, part of the way through.
    await send(page, 'Tell me a long story.');
    const shown = await letTokensThrough(answers.current(), 40);
    await shows(page, shown.length);
    await screenshot(page, 'streaming');
    expect(await page.getByTestId('turn').count()).toBe(4);
    expect(await page.getByTestId('app').getAttribute('data-status')).toBe('streaming');
  });

  it("shows the Agent's tool call as it arrives, its result when it comes, then the answer streaming after it", async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const gate = gatedLog();
    const web = await start(FAST, { gate, script: 'bank' });
    const { page } = await ask(await newContext(), web, 'What time is it in Asia/Tokyo?');
    const call = page.getByTestId('tool-call');

    // Step 0 is over (the model's call is complete), its tool has not answered yet: the call shows,
    // with its input, still running.
    await letThroughUntil(gate, 'step-finish');
    await page.waitForSelector('[data-testid="tool-call"][data-state="running"]', { state: 'attached' });
    expect(await call.getByTestId('tool-input').textContent()).toBe('time({"timeZone":"Asia/Tokyo"})');
    expect(await call.getByTestId('tool-result').textContent()).toBe('running…');

    // The result: shown as soon as it reaches the page, before any answer text.
    await letThroughUntil(gate, 'tool-result');
    await page.waitForSelector('[data-testid="tool-call"][data-state="done"]', { state: 'attached' });
    const result = JSON.parse((await call.getByTestId('tool-result').textContent()) ?? 'null') as { timeZone: string; time: string };
    expect(result).toEqual({ timeZone: 'Asia/Tokyo', time: expect.stringMatching(/^\d\d:\d\d$/) });
    expect(await answerOf(page)).toBe('');

    // Then step 1's text streams in after it, token by token.
    const firstTwo = await letTokensThrough(gate, 2);
    await shows(page, firstTwo.length);
    expect(await answerOf(page)).toBe(firstTwo);
    expect(await page.getByTestId('app').getAttribute('data-status')).toBe('streaming');
    gate.open();

    await statusIs(page, 'done');
    expect(await answerOf(page)).toBe(`It is ${result.time} in Asia/Tokyo right now.`);
    expect(await call.count()).toBe(1);
    // Two model requests: the call, then the answer; the second one carried the tool's result.
    expect(web.mock!.requests).toHaveLength(2);
    expect(JSON.parse(web.mock!.requests[1]!.toolResults[0]!.output)).toEqual(result);
  });

  it('Enter sends, Shift+Enter starts a new line, Escape stops; the focus stays in the message box', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(FAST, { faults: STALLS });
    const page = await open(await newContext(), web.url);
    const box = page.getByTestId('prompt');
    // The box has the focus from the start: no mouse needed.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');

    await page.keyboard.type('First line');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line');
    expect(await box.inputValue()).toBe('First line\nsecond line');
    expect(web.mock!.requests).toHaveLength(0);
    expect(await page.getByTestId('turn').count()).toBe(0);

    const asked = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/ask');
    await page.keyboard.press('Enter');
    await asked;
    await lastTurn(page).waitFor();
    expect(await lastTurn(page).getByTestId('question').textContent()).toBe('First line\nsecond line');
    expect(await box.inputValue()).toBe('');
    await someTextShown(page);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');

    await page.keyboard.press('Escape');
    await statusIs(page, 'stopped');
    expect((await web.mock!.waitForClose(0)).closedByClient).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');
    expect(web.mock!.requests).toHaveLength(1);
  });

  it('Stop closes the upstream request mid-answer, keeps the text and marks the answer stopped', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(LIFELIKE, { faults: { stallAfter: 30 }, script: 'bank' });
    const { page, session } = await ask(await newContext(), web, 'Tell me a long story.');
    // The upstream has written its 30 tokens and stalls: the page shows them all, then Stop.
    const thirty = STORY.match(/\s*\S+/g)!.slice(0, 30).join('');
    await shows(page, thirty.length);
    await page.getByTestId('typing').waitFor();

    await page.getByTestId('stop').click();
    const upstream = await web.mock!.waitForClose(0);
    expect(upstream.closedByClient).toBe(true);
    expect(upstream.finished).toBe(false);
    expect(upstream.tokensWritten).toBe(30);

    await statusIs(page, 'stopped');
    expect(await answerOf(page)).toBe(thirty);
    const marker = lastTurn(page).getByTestId('stopped-marker');
    expect(await marker.textContent()).toBe('stopped Stopped. The rest was never generated, and this turn is not kept in the conversation.');
    expect(await page.getByTestId('typing').count()).toBe(0);
    expect(web.mock!.requests).toHaveLength(1);
    await screenshot(page, 'stopped');

    // The box is free again, and a stopped turn is not in the conversation.
    expect(await page.getByTestId('stop').count()).toBe(0);
    expect(await web.conversation(session)!.all()).toEqual([]);
  });

  it('resumes with Last-Event-ID after the server cuts the SSE connection: the whole answer, once', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const gate = gatedLog();
    const web = await start(FAST, { gate });
    const { page, channel } = await ask(await newContext({ networkErrors: true }), web);
    await shows(page, (await letTokensThrough(gate, 3)).length);

    // Mid-answer by construction: the rest of the answer is held back, so the channel is still open
    // when the connection drops.
    expect((await web.hub.info(channel))?.finished).toBe(false);
    expect(web.cutConnections()).toBe(1);
    // The rest goes out live once the page has come back (with its last id).
    await expect.poll(() => web.follows.filter((follow) => follow.channel === channel).length, { timeout: budget(15_000) }).toBeGreaterThanOrEqual(2);
    gate.open();

    await statusIs(page, 'done');
    expect(await answerOf(page)).toBe(ANSWER);
    expect(web.mock!.requests).toHaveLength(1);

    // The first connection had no resume point; the reconnection asked for what came after one.
    const follows = web.follows.filter((follow) => follow.channel === channel);
    expect(follows.length).toBeGreaterThanOrEqual(2);
    expect(follows[0]?.lastEventId).toBeUndefined();
    expect(follows[1]?.lastEventId).toMatch(/^\d+$/);

    // Never shorter than before (no reset), never longer than the answer (nothing twice).
    const lengths = (await paintsOf(page)).map((paint) => paint.length);
    for (let i = 1; i < lengths.length; i++) expect(lengths[i]).toBeGreaterThanOrEqual(lengths[i - 1]!);
    expect(Math.max(...lengths)).toBe(ANSWER.length);
  });

  it('a reload mid-answer shows the chat again and resumes the answer after the last event it had: nothing twice', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const answers = gatedAnswers();
    const web = await start(QUICK, { gate: answers, script: 'bank' });
    const context = await newContext();
    const { page } = await ask(context, web, 'My name is Ada.');
    await letThroughUntil(answers.current(), 'done');
    await statusIs(page, 'done');
    const { channel } = await send(page, 'Tell me a long story.');
    const before = await letTokensThrough(answers.current(), 5);
    await shows(page, before.length);
    // Every entry of the story so far is on the page (the last one let through is a token it shows).
    const had = answers.current().entries.length;

    // Where the page resumes this answer from (the page going away may still try a reconnection of
    // its own, with no resume point: the browser's EventSource, which the page is leaving).
    const resumedFrom: string[] = [];
    context.on('request', (request) => {
      const url = new URL(request.url());
      const from = url.searchParams.get('lastEventId');
      if (url.pathname === `/api/streams/${channel}` && from !== null) resumedFrom.push(from);
    });
    await page.reload();
    await page.getByTestId('app').waitFor();
    // The chat is back, the open answer shows what it had, and the page asks for what came after.
    await shows(page, before.length);
    expect(await page.getByTestId('question').allTextContents()).toEqual(['My name is Ada.', 'Tell me a long story.']);
    expect(await answerOf(page)).toBe(before);
    expect(await page.getByTestId('turn').first().getByTestId('answer').textContent()).toBe(mockReply('My name is Ada.'));
    await expect.poll(() => resumedFrom.length, { timeout: budget(15_000) }).toBe(1);
    answers.open();

    await statusIs(page, 'done');
    expect(await answerOf(page)).toBe(STORY);
    expect(await page.getByTestId('turn').count()).toBe(2);
    // One resumption, after the last event the page had; the server finished the answer on it.
    expect(resumedFrom).toEqual([String(had - 1)]);
    expect(web.follows.filter((follow) => follow.channel === channel).at(-1)?.lastEventId).toBe(String(had - 1));
    // One upstream request per question: the reload did not ask again.
    expect(web.mock!.requests).toHaveLength(2);
    const lengths = (await paintsOf(page)).map((paint) => paint.length);
    for (let i = 1; i < lengths.length; i++) expect(lengths[i]).toBeGreaterThanOrEqual(lengths[i - 1]!);
    expect(Math.max(...lengths)).toBe(STORY.length);
  });

  it("a follower tab shows the asker's question and the same figures, from the server's clock, over one upstream request", async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const gate = gatedLog();
    const web = await start(LIFELIKE, { gate });
    const context = await newContext();
    const asker = await ask(context, web, 'Tell me about rivers.');
    // The follower joins after the first tokens: its own clock would give other figures.
    await shows(asker.page, (await letTokensThrough(gate, 3)).length);
    const follower = await open(context, `${web.url}/?channel=${asker.channel}`);
    await shows(follower, (await answerOf(asker.page))!.length);
    expect(await lastTurn(follower).getByTestId('question').textContent()).toBe('Tell me about rivers.');
    gate.open();

    await Promise.all([statusIs(asker.page, 'done'), statusIs(follower, 'done')]);
    expect(await answerOf(asker.page)).toBe(ANSWER);
    expect(await answerOf(follower)).toBe(ANSWER);
    const figures = await figuresOf(asker.page);
    expect(await figuresOf(follower)).toEqual(figures);
    // The time to first token is the first token's `t`: the producer's clock.
    const firstToken = JSON.parse(gate.entries.find((entry) => entry.type === 'token')!.data) as { t: number };
    expect(figures.ttft).toBe(`${Math.round(firstToken.t)} ms`);
    expect(web.mock!.requests).toHaveLength(1);
    expect(web.follows.filter((follow) => follow.channel === asker.channel)).toHaveLength(2);
    expect(await follower.getByTestId('following').count()).toBe(1);
    await screenshot(follower, 'follower');
  });

  it('Stop in the asking tab ends the answer in the follower tab as stopped', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(FAST, { faults: STALLS });
    const context = await newContext();
    const first = await ask(context, web);
    const second = await open(context, `${web.url}/?channel=${first.channel}`);
    await someTextShown(second);

    await first.page.getByTestId('stop').click();
    // The hub ends the channel with an `error` whose reason is `stopped`: not a failure.
    await statusIs(second, 'stopped');
    const shown = (await answerOf(second)) ?? '';
    expect(ANSWER.startsWith(shown)).toBe(true);
    expect(shown.length).toBeLessThan(ANSWER.length);
    expect(await second.getByTestId('error').count()).toBe(0);
    expect(await second.getByTestId('stopped-marker').textContent()).toBe('stopped Stopped in another tab. The rest was never generated.');
    expect((await web.mock!.waitForClose(0)).closedByClient).toBe(true);
  });

  it('Stop in a follower tab ends the answer in the asking tab as stopped, and the asker can ask again', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(FAST, { faults: (request) => (request.index === 0 ? STALLS : undefined) });
    const context = await newContext();
    const asker = await ask(context, web);
    const follower = await open(context, `${web.url}/?channel=${asker.channel}`);
    await someTextShown(follower);
    await someTextShown(asker.page);

    await follower.getByTestId('stop').click();
    await Promise.all([statusIs(asker.page, 'stopped'), statusIs(follower, 'stopped')]);
    expect(await asker.page.getByTestId('stopped-marker').textContent()).toBe(
      'stopped Stopped in another tab. The rest was never generated, and this turn is not kept in the conversation.',
    );
    expect(await follower.getByTestId('stopped-marker').textContent()).toBe('stopped Stopped. The rest was never generated.');
    expect(ANSWER.startsWith((await answerOf(asker.page)) ?? '')).toBe(true);
    expect((await web.mock!.waitForClose(0)).closedByClient).toBe(true);

    await send(asker.page, 'Tell me about rivers again.');
    await statusIs(asker.page, 'done');
    expect(await answerOf(asker.page)).toBe(ANSWER);
    expect(await asker.page.getByTestId('turn').count()).toBe(2);
  });

  it('a follower link to an answer the server no longer has says so', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(FAST);
    const page = await open(await newContext({ networkErrors: true }), `${web.url}/?channel=expired-channel`);
    await statusIs(page, 'error');
    expect(await page.getByTestId('error').textContent()).toBe('This answer is no longer on the server: it expired, or the link is wrong.');
    expect(await page.getByTestId('question').textContent()).toBe('(the question is no longer on the server)');
    expect(await page.getByTestId('stop').count()).toBe(0);
  });

  it('a chat the server forgot (a restart) goes on in a new conversation, and the page says where it starts', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(FAST);
    const context = await newContext();
    // What the tab kept from a server that is gone: a session it never made, and one finished turn
    // (set before the page's first load: the page saves its own chat when it goes away).
    await context.addInitScript(() => {
      // Also runs in the new page's about:blank, which has no storage.
      if (location.protocol !== 'http:' || sessionStorage.getItem('seeded')) return;
      sessionStorage.setItem('seeded', 'yes');
      const turn = { channel: 'old-channel', question: 'Hello', text: 'Hi.', status: 'done', toolCalls: [], metrics: { tokens: 1 } };
      sessionStorage.setItem('tokenflow-demo/chat', JSON.stringify({ session: 'forgotten', turns: [turn] }));
    });
    const page = await open(context, web.url);
    expect(await page.getByTestId('question').allTextContents()).toEqual(['Hello']);

    const { session } = await send(page, 'Tell me about rivers.');
    expect(session).not.toBe('forgotten');
    await statusIs(page, 'done');
    expect(await lastTurn(page).getByRole('note').textContent()).toMatch(/^The server did not know this chat any more/);
    expect(await page.getByTestId('turn').first().getByRole('note').count()).toBe(0);
    // The next question stays in the new conversation: no new notice.
    await send(page, 'Tell me about rivers again.');
    await statusIs(page, 'done');
    expect(await lastTurn(page).getByRole('note').count()).toBe(0);
    expect(await web.conversation(session)!.all()).toHaveLength(4);
  });

  it('a whole session by keyboard: no console errors, no failed requests, no favicon 404', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    // The story stalls part of the way, so Escape always finds it streaming.
    const web = await start(QUICK, { script: 'bank', faults: (request) => (/story/.test(questionOf(request)) ? { stallAfter: 10 } : undefined) });
    const context = await newContext();
    const page = await open(context, web.url);
    const typeAndSend = async (text: string) => {
      const asked = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/ask');
      await page.keyboard.type(text);
      await page.keyboard.press('Enter');
      return (await (await asked).json()) as { channel: string };
    };

    await typeAndSend('Hello');
    await statusIs(page, 'done');
    const { channel: timeChannel } = await typeAndSend('What time is it in Europe/Paris?');
    await page.locator(`[data-channel="${timeChannel}"][data-status="done"]`).waitFor({ state: 'attached' });
    await typeAndSend('Tell me a long story.');
    await someTextShown(page);
    // The page shows "stopped" at once and tells the server in the background: the reload below
    // waits for that request, or it would cancel it (a failed request) on a busy machine.
    const stopSent = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/stop'));
    await page.keyboard.press('Escape');
    await statusIs(page, 'stopped');
    expect((await stopSent).ok()).toBe(true);

    await page.reload();
    await page.getByTestId('app').waitFor();
    expect(await page.getByTestId('turn').evaluateAll((turns) => turns.map((turn) => turn.getAttribute('data-status')))).toEqual(['done', 'done', 'stopped']);
    expect(await page.getByTestId('tool-call').getAttribute('data-state')).toBe('done');

    // A follower tab on the finished tool answer replays it whole.
    const follower = await open(context, `${web.url}/?channel=${timeChannel}`);
    await statusIs(follower, 'done');
    expect(await follower.getByTestId('tool-call').count()).toBe(1);
    expect(await lastTurn(follower).getByTestId('question').textContent()).toBe('What time is it in Europe/Paris?');

    // New chat, by keyboard: from the message box (focused after the reload), back one stop.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('new-chat');
    await page.keyboard.press('Enter');
    expect(await page.getByTestId('turn').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');

    await page.close();
    await follower.close();
    expect(context.problems).toEqual([]);
    // The page names its icon inline: the browser never asks for /favicon.ico.
    expect(context.requested.filter((path) => path.includes('favicon'))).toEqual([]);
    expect(context.requested).toContain('/api/config');
  });
});
