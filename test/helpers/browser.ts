/**
 * Headless Chromium for the browser tests, driven by playwright-core. The browser is Debian's
 * `/usr/bin/chromium` (`.ci/run` installs it); playwright never downloads one.
 *
 * One browser per test file: `useBrowser()` launches it in `beforeAll` and closes it in `afterAll`;
 * each test opens its own context (fresh cookies and storage) from it.
 *
 * Without `/usr/bin/chromium` the browser suites are skipped with a loud warning, except in CI
 * (`CI=true`), where a missing browser is a failure: a green run must have run them. A browser that
 * is there but fails to launch is never a skip: `useBrowser` launches it with `setupOnce`, so each
 * test fails with the launch error.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll } from 'vitest';
import { IN_CI } from './budget.js';
import { setupOnce } from './setup.js';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Whether a browser suite must be skipped: `true` (with a console warning) when Chromium is
 * missing outside CI. In CI a missing Chromium throws, so the test file fails.
 *
 * @example
 * describe.skipIf(skipWithoutChromium('web example'))('web example', () => { … });
 */
export function skipWithoutChromium(suite: string): boolean {
  if (existsSync(CHROMIUM_PATH)) return false;
  if (IN_CI) {
    throw new Error(
      `${suite}: ${CHROMIUM_PATH} is missing and CI is set, so the browser tests cannot be skipped. ` +
        'Install it with `apt-get install -y --no-install-recommends chromium` (.ci/run does this).',
    );
  }
  console.warn(
    `\n!!! SKIPPING the browser tests of "${suite}": ${CHROMIUM_PATH} is missing.\n` +
      '!!! Install Debian\'s chromium (apt-get install chromium) to run them; in CI they fail instead.\n',
  );
  return true;
}

/** A browser for this file, and a fresh context per call of `context()`; all closed in `afterAll`. */
export interface BrowserFixture {
  /** The launched browser (throws if called before `beforeAll` ran). */
  browser(): Browser;
  /** A new isolated context (like a new profile); closed with the browser. */
  context(): Promise<BrowserContext>;
}

/**
 * Launches headless Chromium once for the enclosing file or `describe` block; a failed launch
 * fails every test of the block (never skips it).
 * `--no-sandbox` because CI runs as root, where Chromium's sandbox refuses to start.
 *
 * @returns the browser of the block and a way to open fresh contexts in it.
 * @example
 * const chromium = useBrowser();
 * it('…', async () => { const page = await (await chromium.context()).newPage(); … });
 */
export function useBrowser(): BrowserFixture {
  let browser: Browser | undefined;
  const launched = setupOnce(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'], headless: true });
    return browser;
  });
  afterAll(async () => {
    await browser?.close();
    browser = undefined;
  });
  const current = (): Browser => {
    if (!browser) return launched(); // throws the launch's error, or says it has not run
    return browser;
  };
  return {
    browser: current,
    context: () => current().newContext(),
  };
}
