/**
 * The Angular example (examples/angular) in real headless Chromium: an Angular 22 app (zoneless,
 * standalone, a signal input) built with the Angular CLI against the tokenflow package as an app
 * installs it, following answers that a StreamHub relays from the mock provider. Its component is
 * the one docs/browser.md shows (a test below compares them).
 *
 * The Angular CLI needs Node 22 or later: this process's Node when it is, else the binary that
 * TOKENFLOW_NODE22 names (.ci/run sets it); without one the suite is skipped locally and fails in
 * CI. The example's npm dependencies are installed on first use (`npm ci` in examples/angular);
 * the package is built into a temporary directory, never into the repository's dist/.
 *
 * "Mid-answer" is made, not raced: the hub's log is gated (helpers/gated-log.ts) or holds a chosen
 * channel (helpers/angular-server.ts), or the mock stalls after a few tokens and never finishes on
 * its own. Assertions are about order and content, never about how long something took.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { MockFault, MockProviderOptions } from '../../src/testing/index.js';
import type { StreamHubOptions } from '../../src/sse/hub.js';
import { ANGULAR_EXAMPLE, buildAngularExample, buildBrowserPackage, findAngularNode, installAngularDependencies, skipWithoutAngularNode, type AngularBuild } from '../helpers/angular.js';
import { holdingLog, startAngularServer, type Ask, type AngularServer } from '../helpers/angular-server.js';
import { skipWithoutChromium, useBrowser } from '../helpers/browser.js';
import { budget } from '../helpers/budget.js';
import { gatedLog, letTokensThrough } from '../helpers/gated-log.js';
import { setupOnce } from '../helpers/setup.js';

const ANSWER =
  'Rivers carve the stone, patient as the moon is slow, and the sea keeps every name they carried ' +
  'down from the hills: the mill, the ford, the bridge.';
const SECOND = 'Bridges were built where the ford was shallow enough to cross in summer.';
const ANSWERS = { 'Tell me about rivers.': ANSWER, 'And bridges?': SECOND };
/** The mock splits a text into words with their leading space: the first `n` tokens of `text`. */
const firstTokens = (text: string, n: number): string => text.split(' ').slice(0, n).join(' ');

/** The upstream writes five tokens, then stalls with the request open: the answer is mid-way until someone acts. */
const STALLS: MockFault = { stallAfter: 5 };

/** One state of the answer as the page showed it (recorded by a MutationObserver in the page). */
interface Shown {
  status: string;
  text: string;
}

describe('the Angular guide', () => {
  it("shows the example's component, as it is: docs/browser.md's Angular block is examples/angular/src/app/answer.ts", () => {
    const markdown = readFileSync(join(ANGULAR_EXAMPLE, '../../docs/browser.md'), 'utf8');
    const section = markdown.split(/^## /m).find((part) => part.startsWith('Angular\n'));
    expect(section, 'docs/browser.md has a "## Angular" section').toBeDefined();
    const block = /^```ts fragment\n([\s\S]*?)^```$/m.exec(section!)?.[1];
    expect(block, 'the section has a ```ts fragment block').toBeDefined();
    expect(block).toBe(readFileSync(join(ANGULAR_EXAMPLE, 'src/app/answer.ts'), 'utf8'));
  });
});

describe.skipIf(skipWithoutChromium('Angular example') || skipWithoutAngularNode('Angular example'))('Angular example in Chromium', () => {
  const chromium = useBrowser();
  let tmp = '';

  // Installs the example's packages on first use, builds the package and the app: minutes on a
  // fresh clone, so a generous budget. A failure fails every test (never skips them).
  const built = setupOnce(async (): Promise<AngularBuild> => {
    const found = findAngularNode();
    if (!('node' in found)) throw new Error(found.missing);
    await installAngularDependencies(found.node);
    tmp = await mkdtemp(join(tmpdir(), 'tokenflow-angular-'));
    const tokenflow = await buildBrowserPackage(join(tmp, 'tokenflow'));
    // gpt-tokenizer installed too (an app whose server counts tokens has it): it must stay out of the bundle anyway.
    return buildAngularExample({ node: found.node, tokenflow, workDir: tmp, withPackages: ['gpt-tokenizer'] });
  }, 900_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /**
   * What one test starts, closed when it finishes. Uncaught errors and console errors in its pages
   * are collected in `errors` (each test checks it), and fail the test at the end in any case.
   */
  function scope(onTestFinished: TestContext['onTestFinished']) {
    const cleanups: Array<() => Promise<unknown>> = [];
    const errors: string[] = [];
    onTestFinished(async () => {
      const failures: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
      if (errors.length > 0) throw new Error(`errors in the page: ${errors.join('; ')}`);
    });
    return {
      errors,
      async start(
        extra: { mock?: Partial<MockProviderOptions>; hub?: StreamHubOptions; onAsk?: (ask: Ask) => void | Promise<void>; beforeClose?: () => void } = {},
      ): Promise<AngularServer> {
        const server = await startAngularServer({
          pageDir: built().browserDir,
          answers: ANSWERS,
          mock: { profile: { ttftMs: 20, tokensPerSecond: 40 }, ...extra.mock },
          ...(extra.hub ? { hub: extra.hub } : {}),
          ...(extra.onAsk ? { onAsk: extra.onAsk } : {}),
        });
        cleanups.push(() => server.close());
        // Runs before the server's close, which waits for held appends.
        if (extra.beforeClose) cleanups.push(async () => extra.beforeClose!());
        return server;
      },
      /** A fresh context (its own cookies and storage). */
      async newContext(): Promise<BrowserContext> {
        const context = await chromium.context();
        context.on('weberror', (error) => errors.push(`uncaught: ${String(error.error())}`));
        context.on('console', (message) => {
          if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
        });
        cleanups.push(() => context.close());
        return context;
      },
    };
  }

  /** Per page: rejects with the first uncaught error or console error in it (so a wait fails with it, not with a timeout). */
  const failures = new WeakMap<Page, Promise<never>>();

  /** Opens the app with a recorder of every state the answer shows (`window.__shown`). */
  async function open(context: BrowserContext, url: string): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(budget(15_000));
    const failure = new Promise<never>((_, reject) => {
      page.on('pageerror', (error) => reject(new Error(`uncaught in the page: ${error.message}`)));
      page.on('console', (message) => {
        if (message.type() === 'error') reject(new Error(`console.error in the page: ${message.text()}`));
      });
    });
    failure.catch(() => undefined);
    failures.set(page, failure);
    await page.addInitScript(() => {
      const shown: Array<{ status: string; text: string }> = [];
      (window as unknown as { __shown: typeof shown }).__shown = shown;
      const record = (): void => {
        const section = document.querySelector('app-answer section');
        const now = section
          ? { status: [...section.classList].find((name) => name !== 'answer') ?? '', text: section.querySelector('p')?.textContent ?? '' }
          : { status: 'none', text: '' };
        const last = shown.at(-1);
        if (!last || last.status !== now.status || last.text !== now.text) shown.push(now);
      };
      new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.goto(url);
    await page.getByRole('heading', { name: 'Ask' }).waitFor();
    return page;
  }

  async function ask(page: Page, question: string): Promise<void> {
    const input = page.getByLabel('Question');
    await input.fill(question);
    await input.press('Enter'); // the form's submit
  }

  const textOf = async (page: Page): Promise<string> => (await page.locator('app-answer section p').textContent()) ?? '';
  const statusIs = (page: Page, status: string) => page.waitForSelector(`app-answer section.${status}`, { state: 'attached' });
  /** Waits for the answer to end, either way, and resolves to how: `done`, `stopped` or `error`. */
  const ended = async (page: Page): Promise<string> => {
    const section = await Promise.race([page.waitForSelector('app-answer section:is(.done, .stopped, .error)', { state: 'attached' }), failures.get(page)!]);
    return (await section.getAttribute('class'))?.replace('answer', '').trim() ?? '';
  };
  const shows = (page: Page, text: string) =>
    page.waitForFunction((expected) => document.querySelector('app-answer section p')?.textContent === expected, text);
  const shownOf = (page: Page): Promise<Shown[]> => page.evaluate(() => (window as unknown as { __shown: Shown[] }).__shown);

  /** Waits for something the server sees, failing with `what` after a hang guard (never a speed check). */
  async function waitFor<T>(promise: Promise<T>, what: string): Promise<T> {
    const limitMs = budget(15_000);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: it did not happen within ${limitMs} ms`)), limitMs);
    });
    try {
      return await Promise.race([promise, guard]);
    } finally {
      clearTimeout(timer);
    }
  }


  it('is built with the Angular CLI from the installed package: tokenflow and tokenflow/client, one rxjs, no tokenizer', () => {
    const { inputs, browserDir, log } = built();
    // The component imports `text` from the root entry and `fromSSE` from the client entry.
    expect(readFileSync(join(ANGULAR_EXAMPLE, 'src/app/answer.ts'), 'utf8')).toMatch(/import \{ text \} from 'tokenflow';/);
    expect(inputs).toContain('node_modules/tokenflow/dist/index.js');
    expect(inputs).toContain('node_modules/tokenflow/dist/client.js');
    // Every rxjs module from one installed copy (the app's), never a second one for tokenflow.
    const rxjsCopies = new Set(inputs.filter((input) => input.includes('node_modules/rxjs/')).map((input) => input.slice(0, input.indexOf('node_modules/rxjs/'))));
    expect(rxjsCopies.size, [...rxjsCopies].join(', ')).toBe(1);
    // gpt-tokenizer is installed in the app, yet none of it is bundled: no module, no chunk, no vocabulary.
    expect(inputs.filter((input) => input.includes('gpt-tokenizer'))).toEqual([]);
    const scripts = readdirSync(browserDir).filter((name) => name.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      const code = readFileSync(join(browserDir, script), 'utf8');
      expect(code, script).not.toContain('<|endoftext|>');
      expect(code.length, script).toBeLessThan(500_000);
    }
    expect(log).not.toMatch(/WARNING|ERROR/);
  });

  it('streams the answer in several paints, then shows it done', async ({ onTestFinished }) => {
    const { start, newContext, errors } = scope(onTestFinished);
    const gate = gatedLog();
    const server = await start({ hub: { log: gate.log }, beforeClose: () => gate.open() });
    const page = await open(await newContext(), server.url);
    await ask(page, 'Tell me about rivers.');
    await statusIs(page, 'streaming');

    // Three tokens one at a time, each on the page before the next is let through.
    for (let i = 0; i < 3; i++) await shows(page, await letTokensThrough(gate, 1));
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(1);
    gate.open();

    expect(await ended(page)).toBe('done');
    expect(await textOf(page)).toBe(ANSWER);
    expect(await page.locator('app-answer small').textContent()).toBe('Done');
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    expect(server.mock.requests).toHaveLength(1);

    // The text grew over several renders while streaming, never replaced, then stood as done.
    const shown = await shownOf(page);
    const streaming = shown.filter((state) => state.status === 'streaming' && state.text.length > 0 && state.text.length < ANSWER.length);
    expect(streaming.length, JSON.stringify(shown)).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < streaming.length; i++) expect(streaming[i]!.text.startsWith(streaming[i - 1]!.text)).toBe(true);
    expect(shown.at(-1)).toEqual({ status: 'done', text: ANSWER });
    expect(errors).toEqual([]);
  });

  it('a Stop from another tab shows as stopped with the text so far, and no error reaches the page', async ({ onTestFinished }) => {
    const { start, newContext, errors } = scope(onTestFinished);
    const server = await start({ mock: { faults: STALLS } });
    const context = await newContext();
    const page = await open(context, server.url);
    await ask(page, 'Tell me about rivers.');
    const { channel } = await waitFor(server.asked(0), 'the page asks the question');
    const sofar = firstTokens(ANSWER, 5);
    await shows(page, sofar);

    // Another tab of the same app stops the answer, as its Stop button does: POST …/stop.
    const other = await open(context, server.url);
    expect(await other.evaluate(async (url) => (await fetch(url, { method: 'POST' })).status, `/api/streams/${channel}/stop`)).toBe(204);

    // The hub ends the channel with an `error` whose reason is `stopped`: a state, not a failure.
    expect(await ended(page)).toBe('stopped');
    expect(await textOf(page)).toBe(sofar);
    expect(await page.locator('app-answer small').textContent()).toBe('Stopped');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect((await server.mock.waitForClose(0, budget(20_000))).closedByClient).toBe(true);
    expect((await shownOf(page)).map((state) => state.status)).not.toContain('error');
    expect(errors).toEqual([]);
  });

  it("this tab's Stop button stops the answer at the provider and shows it stopped", async ({ onTestFinished }) => {
    const { start, newContext, errors } = scope(onTestFinished);
    const server = await start({ mock: { faults: STALLS } });
    const page = await open(await newContext(), server.url);
    await ask(page, 'Tell me about rivers.');
    await shows(page, firstTokens(ANSWER, 5));

    await page.getByRole('button', { name: 'Stop' }).click();
    const upstream = await server.mock.waitForClose(0, budget(20_000));
    expect(upstream.closedByClient).toBe(true);
    expect(upstream.finished).toBe(false);
    expect(await ended(page)).toBe('stopped');
    expect(await textOf(page)).toBe(firstTokens(ANSWER, 5));
    expect(errors).toEqual([]);
  });

  it('a second question switches streams: the first connection closes, and the old answer is gone before the new first token', async ({ onTestFinished }) => {
    const { start, newContext, errors } = scope(onTestFinished);
    const holding = holdingLog();
    let answerSecond!: () => void;
    const secondAnswered = new Promise<void>((resolvePromise) => (answerSecond = resolvePromise));
    const server = await start({
      // The first answer stalls mid-way. The second question's POST waits for the test, and then its
      // answer's events are held until the test lets them go.
      mock: { faults: (request) => (request.index === 0 ? STALLS : undefined) },
      hub: { log: holding.log },
      onAsk: async ({ prompt, channel }) => {
        if (prompt !== 'And bridges?') return;
        holding.hold(channel);
        await secondAnswered;
      },
      beforeClose: () => {
        answerSecond();
        holding.releaseAll();
      },
    });
    const page = await open(await newContext(), server.url);
    await ask(page, 'Tell me about rivers.');
    const first = await waitFor(server.asked(0), 'the page asks the first question');
    await shows(page, firstTokens(ANSWER, 5));
    const firstFollow = await waitFor(server.followed(first.channel), 'the page follows the first answer');

    await ask(page, 'And bridges?');
    const second = await waitFor(server.asked(1), 'the page asks the second question');
    // While the server has not even answered the POST: switchMap unsubscribed from the first answer,
    // so its connection closed (the server saw it leave), and the page already shows an empty answer.
    await waitFor(firstFollow.closed, "the first answer's connection closes");
    await shows(page, '');
    expect(await page.locator('app-answer section').getAttribute('class')).toContain('streaming');
    expect(server.follows).toHaveLength(1);

    // The POST answered: a new stream follows the second channel, and nothing of it shows yet.
    answerSecond();
    const secondFollow = await waitFor(server.followed(second.channel), 'the page follows the second answer');
    expect(await textOf(page)).toBe('');
    expect(secondFollow.isClosed).toBe(false);

    holding.release(second.channel);
    expect(await ended(page)).toBe('done');
    expect(await textOf(page)).toBe(SECOND);

    // In the order the page showed them: the first answer's text, then empty, then only the second's.
    const shown = (await shownOf(page)).filter((state) => state.status !== 'none');
    const cleared = shown.findIndex((state, i) => i > 0 && state.text === '' && shown[i - 1]!.text !== '');
    expect(cleared, JSON.stringify(shown)).toBeGreaterThan(0);
    expect(shown.slice(0, cleared).every((state) => ANSWER.startsWith(state.text))).toBe(true);
    expect(shown.slice(cleared).every((state) => SECOND.startsWith(state.text)), JSON.stringify(shown)).toBe(true);
    expect(shown.at(-1)).toEqual({ status: 'done', text: SECOND });
    // Each connection was opened once: no extra stream for either question.
    expect(server.follows.map((follow) => follow.channel)).toEqual([first.channel, second.channel]);
    expect(errors).toEqual([]);
  });

  it('destroying the component unsubscribes: its connection closes while the page stays', async ({ onTestFinished }) => {
    const { start, newContext, errors } = scope(onTestFinished);
    const server = await start({ mock: { faults: STALLS } });
    const page = await open(await newContext(), server.url);
    await ask(page, 'Tell me about rivers.');
    const { channel } = await waitFor(server.asked(0), 'the page asks the question');
    await shows(page, firstTokens(ANSWER, 5));
    const follow = await waitFor(server.followed(channel), 'the page follows the answer');
    expect(server.hub.followerCount(channel)).toBe(1);

    // Clear removes the answer component (an `@if` in the app): Angular destroys it.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('app-answer').waitFor({ state: 'detached' });
    await waitFor(follow.closed, "the destroyed component's connection closes");
    await expect.poll(() => server.hub.followerCount(channel), { timeout: budget(15_000) }).toBe(0);
    // The page is still there, and nothing reconnected.
    expect(await page.getByRole('heading', { name: 'Ask' }).count()).toBe(1);
    expect(server.follows).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
