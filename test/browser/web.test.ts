/**
 * The web example (examples/web) in real headless Chromium: the React page follows an answer over
 * SSE from the example server, which relays the mock provider through a StreamHub.
 *
 * The page is built once for this file with `vite build` and served statically: deterministic
 * (no dependency pre-bundling or reloads mid-test, no StrictMode double effects) and about as fast
 * as Vite's middleware mode. Everything listens on 127.0.0.1; the assertions are about order and
 * counts, never about how long something took. "Mid-answer" is made, not raced: the hub's log is
 * gated (helpers/gated-log.ts), so the page has exactly what the test let through and the rest is
 * held, or the mock stalls after a few tokens and never finishes on its own. The only clocks are
 * hang guards scaled for load (helpers/budget.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { buildWebExample, startWebExample, type WebExample } from '../../examples/web/server.js';
import type { PaintRecord } from '../../examples/web/src/paints.js';
import type { LatencyProfile, MockFault } from '../../src/testing/index.js';
import { skipWithoutChromium, useBrowser } from '../helpers/browser.js';
import { budget } from '../helpers/budget.js';
import { gatedLog, type GatedLog } from '../helpers/gated-log.js';
import { setupOnce } from '../helpers/setup.js';

const ANSWER =
  'Rivers carve the stone, patient as the moon is slow, and the sea keeps every name they carried ' +
  'down from the hills: the mill, the ford, the bridge.';
const WORDS = ANSWER.split(' ').length;

/** About 25 ms between tokens: the whole answer well within a second. */
const FAST: LatencyProfile = { ttftMs: 20, tokensPerSecond: 40 };
/** 50 ms between tokens: a second tab usually joins mid-answer (either way it must show it all). */
const MEDIUM: LatencyProfile = { ttftMs: 20, tokensPerSecond: 20 };
/** The upstream writes five tokens, then stalls with the request open: a Stop always finds it mid-answer. */
const STALLS: MockFault = { stallAfter: 5 };

describe.skipIf(skipWithoutChromium('web example'))('web example in Chromium', () => {
  const chromium = useBrowser();
  let pageDir = '';
  let tmp = '';

  // A failed build fails every test (a throwing beforeAll would show them as skipped).
  setupOnce(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tokenflow-web-'));
    pageDir = await buildWebExample(join(tmp, 'dist'));
  }, 60_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /**
   * What one test starts (example servers, browser contexts), closed when that test finishes.
   * The tests run one after another: concurrent pages save little on two cores (each is its own
   * renderer process) and would take CPU from the socket tests in the other worker.
   */
  function scope(onTestFinished: TestContext['onTestFinished']) {
    const cleanups: Array<() => Promise<unknown>> = [];
    onTestFinished(async () => {
      // Pages first (they hold the SSE connections), then the servers; every one runs.
      const failures: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    });
    return {
      /** `exampleScript`: the example's own mock script (a `time` call for questions about the time) instead of ANSWER. */
      async start(profile: LatencyProfile, extra: { faults?: MockFault; gate?: GatedLog; exampleScript?: boolean } = {}): Promise<WebExample> {
        const web = await startWebExample({
          page: { dir: pageDir },
          mock: { ...(extra.exampleScript ? {} : { script: { text: ANSWER } }), profile, ...(extra.faults ? { faults: extra.faults } : {}) },
          // A short reconnection delay, so a cut connection resumes quickly.
          hub: { retryMs: 100, ...(extra.gate ? { log: extra.gate.log } : {}) },
          log: () => undefined,
        });
        cleanups.push(() => web.close());
        // Runs first: the hub's close waits for held appends.
        if (extra.gate) cleanups.push(async () => extra.gate!.open());
        return web;
      },
      /** A fresh context (its own cookies and storage); errors thrown in its pages fail the test. */
      async newContext(): Promise<BrowserContext> {
        const context = await chromium.context();
        const errors: string[] = [];
        context.on('weberror', (error) => errors.push(String(error.error())));
        cleanups.push(async () => {
          await context.close();
          if (errors.length > 0) throw new Error(`errors thrown in the page: ${errors.join('; ')}`);
        });
        return context;
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

  /** Opens the page, asks, and resolves to the page and its channel (from `?channel=`). */
  async function ask(context: BrowserContext, web: WebExample, prompt = 'Tell me about rivers.'): Promise<{ page: Page; channel: string }> {
    const page = await open(context, web.url);
    await page.getByTestId('prompt').fill(prompt);
    await page.getByTestId('ask').click();
    await page.waitForURL(/[?&]channel=/);
    const channel = new URL(page.url()).searchParams.get('channel');
    expect(channel).toMatch(/^[0-9a-f-]{36}$/);
    return { page, channel: channel! };
  }

  const answerOf = (page: Page) => page.getByTestId('answer').textContent();
  const statusIs = (page: Page, status: string) => page.waitForSelector(`[data-testid="app"][data-status="${status}"]`, { state: 'attached' });
  const paintsOf = (page: Page) => page.evaluate(() => window.__paints ?? []);
  const someTextShown = (page: Page) =>
    page.waitForFunction(() => (document.querySelector('[data-testid="answer"]')?.textContent?.length ?? 0) > 0);
  /** Waits until the page shows exactly `length` characters of the answer. */
  const shows = (page: Page, length: number) =>
    page.waitForFunction((n) => (document.querySelector('[data-testid="answer"]')?.textContent?.length ?? 0) === n, length);

  /** Lets the hub's entries through one at a time until one of type `type` has reached the log. */
  async function letThroughUntil(gate: GatedLog, type: string): Promise<void> {
    for (;;) {
      const next = gate.entries.length + 1;
      gate.allowBelow(next);
      await gate.appended(next);
      if (gate.entries.at(-1)!.type === type) return;
    }
  }

  /**
   * Lets the hub's entries through one at a time until `tokens` more tokens have reached the log;
   * resolves to the answer text let through so far.
   */
  async function letTokensThrough(gate: GatedLog, tokens: number): Promise<string> {
    for (let seen = 0; seen < tokens; ) {
      const next = gate.entries.length + 1;
      gate.allowBelow(next);
      await gate.appended(next);
      if (gate.entries.at(-1)!.type === 'token') seen++;
    }
    return gate.entries
      .filter((entry) => entry.type === 'token')
      .map((entry) => (JSON.parse(entry.data) as { text: string }).text)
      .join('');
  }

  it('shows the answer growing over several paints before done, then the whole scripted answer', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const gate = gatedLog();
    const web = await start(FAST, { gate });
    const { page } = await ask(await newContext(), web);
    // Three tokens one at a time, each on the page before the next is let through: three paints
    // however busy the machine (a starved renderer would otherwise paint a burst at once).
    for (let i = 0; i < 3; i++) await shows(page, (await letTokensThrough(gate, 1)).length);
    gate.open();

    await statusIs(page, 'done');
    expect(await answerOf(page)).toBe(ANSWER);
    expect(web.mock!.requests).toHaveLength(1);

    const paints: PaintRecord[] = await paintsOf(page);
    const doneAt = paints.findIndex((paint) => paint.status === 'done');
    const partial = paints.filter((paint, i) => (doneAt === -1 || i < doneAt) && paint.status === 'streaming' && paint.length > 0 && paint.length < ANSWER.length);
    expect(partial.length, JSON.stringify(paints)).toBeGreaterThanOrEqual(3);
    // Each paint shows more than the one before: the text grows, it is never replaced.
    for (let i = 1; i < partial.length; i++) expect(partial[i]!.length).toBeGreaterThan(partial[i - 1]!.length);
    expect(paints.at(-1)?.length).toBe(ANSWER.length);

    // The figures are filled in, and the typing indicator is gone.
    expect(await page.getByTestId('ttft').textContent()).toMatch(/^\d+ ms$/);
    expect(await page.getByTestId('tps').textContent()).toMatch(/^\d+(\.\d)?$/);
    expect(await page.getByTestId('tokens').textContent()).toBe(String(WORDS));
    expect(await page.getByTestId('typing').count()).toBe(0);
  });

  it("shows the Agent's tool call as it arrives, its result when it comes, then the answer streaming after it", async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const gate = gatedLog();
    const web = await start(FAST, { gate, exampleScript: true });
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

  it('Stop closes the upstream request at the mock provider, mid-answer', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(FAST, { faults: STALLS });
    const { page } = await ask(await newContext(), web);
    await someTextShown(page);
    await page.getByTestId('typing').waitFor();

    await page.getByTestId('stop').click();
    const upstream = await web.mock!.waitForClose(0);
    expect(upstream.closedByClient).toBe(true);
    expect(upstream.finished).toBe(false);
    expect(upstream.tokensWritten).toBeLessThan(WORDS);

    await statusIs(page, 'stopped');
    const shown = (await answerOf(page)) ?? '';
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(ANSWER.length);
    expect(ANSWER.startsWith(shown)).toBe(true);
    expect(await page.getByTestId('typing').count()).toBe(0);
    expect(web.mock!.requests).toHaveLength(1);
  });

  it('resumes with Last-Event-ID after the server cuts the SSE connection: the whole answer, once', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const gate = gatedLog();
    const web = await start(FAST, { gate });
    const { page, channel } = await ask(await newContext(), web);
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

  it('two tabs on one channel share one upstream request and both show the whole answer', async ({ onTestFinished }) => {
    const { start, newContext } = scope(onTestFinished);
    const web = await start(MEDIUM);
    const context = await newContext();
    const first = await ask(context, web);
    const second = await open(context, `${web.url}/?channel=${first.channel}`);

    await Promise.all([statusIs(first.page, 'done'), statusIs(second, 'done')]);
    expect(await answerOf(first.page)).toBe(ANSWER);
    expect(await answerOf(second)).toBe(ANSWER);
    expect(web.mock!.requests).toHaveLength(1);
    expect(web.follows.filter((follow) => follow.channel === first.channel)).toHaveLength(2);
  });

  it('Stop in one tab ends the answer in the other tab as stopped', async ({ onTestFinished }) => {
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
    expect((await web.mock!.waitForClose(0)).closedByClient).toBe(true);
  });
});
