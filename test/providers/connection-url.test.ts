/**
 * A provider that cannot be reached is named in the ConnectionError's message (scheme, host and
 * path), never with the query or credentials its base URL may hold: a key in `?key=` must not
 * reach a log.
 */
import Anthropic from '@anthropic-ai/sdk';
import { createServer } from 'node:net';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../src/errors.js';
import { displayUrl } from '../../src/internal/display-url.js';
import type { Provider } from '../../src/provider.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { run } from '../helpers/run.js';

const REQUEST = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] };
const SECRET = 'sk-secret-in-query';

describe('displayUrl', () => {
  it.each([
    ['https://api.example.com/v1', 'https://api.example.com/v1'],
    ['https://api.example.com/v1?key=abc#part', 'https://api.example.com/v1'],
    ['http://user:token@127.0.0.1:8080/proxy/', 'http://127.0.0.1:8080/proxy/'],
    ['https://api.example.com', 'https://api.example.com/'],
  ])('%s is shown as %s', (url, shown) => {
    expect(displayUrl(url)).toBe(shown);
    expect(displayUrl(new URL(url))).toBe(shown);
  });

  it('is undefined for what is not an absolute URL', () => {
    expect(displayUrl('/relative/path')).toBeUndefined();
    expect(displayUrl('not a url')).toBeUndefined();
  });
});

describe('a provider that cannot be reached', () => {
  // A port that was just released: nothing listens, so every connection is refused at once. (A
  // server that destroys each socket instead can leave fetch waiting until its timeout.)
  let base: string;
  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    base = `http://127.0.0.1:${address.port}/gateway/v1`;
  });

  const cases: Array<[string, (baseURL: string) => Provider]> = [
    ['anthropic', (baseURL) => anthropic({ apiKey: 'k', baseURL, maxRetries: 0 })],
    ['openai (chat)', (baseURL) => openai({ apiKey: 'k', baseURL, maxRetries: 0 })],
    ['openai (responses)', (baseURL) => openai({ apiKey: 'k', baseURL, maxRetries: 0, api: 'responses' })],
    ['groq', (baseURL) => groq({ apiKey: 'k', baseURL, maxRetries: 0 })],
    ['openaiCompatible', (baseURL) => openaiCompatible({ baseURL, maxRetries: 0 })],
    ['anthropic with your own client', (baseURL) => anthropic({ client: new Anthropic({ apiKey: 'k', baseURL, maxRetries: 0 }) })],
    ['openai with your own client', (baseURL) => openai({ client: new OpenAI({ apiKey: 'k', baseURL, maxRetries: 0 }) })],
  ];

  it.each(cases)('%s: the ConnectionError names the URL, without its query', async (_name, make) => {
    const outcome = await run(make(`${base}?key=${SECRET}`).stream(REQUEST));
    expect(ConnectionError.isInstance(outcome.error)).toBe(true);
    const message = (outcome.error as Error).message;
    expect(message).toContain(`could not reach the provider at ${base}:`);
    expect(message).not.toContain(SECRET);
  });

  it('complete() names it too', async () => {
    const error = await openai({ apiKey: 'k', baseURL: base, maxRetries: 0 }).complete(REQUEST).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`the provider at ${base}:`);
  });
});
