/**
 * Bad input gets a clear error naming the field, before anything is sent: the mock provider's
 * request log stays empty. Factories throw at once; `stream()` returns an Observable that errors on
 * subscription and `complete()` a rejected promise (issue 13), so `catchError` and `.catch()` see it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { catchError, firstValueFrom, lastValueFrom, map, of, retry, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MissingApiKeyError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';
import { invalidArgument } from '../helpers/mock.js';

const ENV_VARS = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GROQ_API_KEY'];

/**
 * Calls `make` (which must not throw), subscribes to the Observable it returns, and returns the
 * `InvalidArgumentError` it errors with during subscribe(), before anything could be sent.
 */
function subscribeError(make: () => Observable<unknown>): InvalidArgumentError {
  const stream$ = make();
  let failure: unknown;
  let failed = false;
  stream$.subscribe({ error: (error: unknown) => ((failed = true), (failure = error)) }).unsubscribe();
  if (!failed) throw new Error('expected the Observable to error on subscription');
  expect(InvalidArgumentError.isInstance(failure)).toBe(true);
  return failure as InvalidArgumentError;
}

describe('missing API key', () => {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const name of ENV_VARS) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
  });
  afterAll(() => {
    for (const name of ENV_VARS) if (saved[name] !== undefined) process.env[name] = saved[name];
  });

  it.each([
    ['anthropic', () => anthropic(), 'ANTHROPIC_API_KEY'],
    ['openai', () => openai(), 'OPENAI_API_KEY'],
    ['openai responses', () => openai({ api: 'responses' }), 'OPENAI_API_KEY'],
    ['groq', () => groq(), 'GROQ_API_KEY'],
  ])('%s: names the environment variable', (_name, make, envVar) => {
    const error = invalidArgument(make);
    expect(MissingApiKeyError.isInstance(error)).toBe(true);
    expect((error as MissingApiKeyError).envVar).toBe(envVar);
    expect(error.message).toContain(envVar);
  });

  it('reads the key from the environment when it is set', () => {
    process.env.ANTHROPIC_API_KEY = 'from-env';
    try {
      expect(() => anthropic()).not.toThrow();
    } finally {
      delete process.env.ANTHROPIC_API_KEY;
    }
  });
});

describe('invalid options and requests send nothing', () => {
  let mock: MockProvider;
  beforeAll(async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: 'never' } });
  });
  afterAll(() => mock.close());

  it.each([
    ['an unknown option', () => openai({ apiKey: 'k', baseUrl: 'http://x' } as never), 'options.baseUrl'],
    ['a bad baseURL', () => openai({ apiKey: 'k', baseURL: 'not a url' }), 'options.baseURL'],
    ['negative maxRetries', () => openai({ apiKey: 'k', maxRetries: -1 }), 'options.maxRetries'],
    ['an unknown api', () => openai({ apiKey: 'k', api: 'completions' as never }), 'options.api'],
    ['a client that is not one', () => anthropic({ client: {} as never }), 'options.client'],
    ['client plus apiKey', () => openai({ client: new (class { chat = { completions: { create() {} } } })() as never, apiKey: 'k' }), 'options.apiKey'],
    ['openaiCompatible without baseURL', () => openaiCompatible({}), 'options.baseURL'],
  ])('%s', (_label, make, field) => {
    expect(invalidArgument(make).field).toBe(field);
  });

  it.each([
    ['empty messages', { model: 'm', messages: [] }, 'request.messages'],
    ['a non-string model', { model: 7, messages: [{ role: 'user', content: 'x' }] }, 'request.model'],
    ['temperature out of range', { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 }, 'request.temperature'],
    ['non-positive maxTokens', { model: 'm', messages: [{ role: 'user', content: 'x' }], maxTokens: 0 }, 'request.maxTokens'],
    ['an unknown field', { model: 'm', messages: [{ role: 'user', content: 'x' }], topP: 1 }, 'request.topP'],
    ['a providerOptions clash', { model: 'm', messages: [{ role: 'user', content: 'x' }], providerOptions: { stream: false } }, 'request.providerOptions.stream'],
  ])('stream() and complete() reject %s', async (_label, request, field) => {
    const llm = openai({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    expect(subscribeError(() => llm.stream(request as never)).field).toBe(field);
    const completion = llm.complete(request as never);
    expect(completion).toBeInstanceOf(Promise);
    await expect(completion).rejects.toMatchObject({ field });
    expect(mock.requests).toHaveLength(0);
  });

  it('anthropic rejects a temperature above 1, which OpenAI would accept', () => {
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }], temperature: 1.5 };
    expect(subscribeError(() => anthropic({ apiKey: 'k', baseURL: mock.url }).stream(request)).field).toBe('request.temperature');
    expect(() => openai({ apiKey: 'k', baseURL: mock.baseURL }).stream(request)).not.toThrow();
    expect(mock.requests).toHaveLength(0);
  });

  it('stream() on bad input: catchError sees the error, every subscription gets it, nothing is sent (issue 13)', async () => {
    const llm = openai({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    const bad = { model: 'm', messages: [] };
    let stream$: Observable<TokenEvent> | undefined;
    expect(() => (stream$ = llm.stream(bad as never))).not.toThrow();
    const caught = await firstValueFrom(
      stream$!.pipe(
        map(() => 'an event'),
        catchError((error: unknown) => of(InvalidArgumentError.isInstance(error) ? `caught ${error.field}` : 'caught something else')),
      ),
    );
    expect(caught).toBe('caught request.messages');
    // A cold Observable: a second subscription errors again (retry() would see the same error).
    expect(subscribeError(() => stream$!).field).toBe('request.messages');
    await expect(lastValueFrom(llm.stream(bad as never).pipe(retry(2)))).rejects.toMatchObject({ field: 'request.messages' });
    expect(mock.requests).toHaveLength(0);
  });
});

describe('the core entry point', () => {
  it('imports no provider SDK, directly or through its own modules', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)) {
        const spec = (match[1] ?? match[2])!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else packages.add(spec);
      }
    };
    visit(join(import.meta.dirname, '..', '..', 'src', 'index.ts'));
    expect(seen.size).toBeGreaterThan(3);
    expect([...packages].filter((p) => /anthropic|openai|groq/.test(p))).toEqual([]);
  });
});
