/**
 * The mock's `obfuscation` option: OpenAI pads every streamed Chat Completions chunk and every
 * Responses delta event with random characters unless the request turns it off
 * (`stream_options.include_obfuscation: false`). The padding makes every chunk differ, so it is what
 * a reader of real OpenAI streams meets; tokenflow must read such a stream exactly as the plain one.
 */
import { firstValueFrom } from 'rxjs';
import { createParser } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { collect } from '../../src/operators/collect.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';

const TEXT = ['Hello', ', wörld', ' 👋🏽', ' "quoted"', '!', 'Hello'];
const PADDING = /^[A-Za-z0-9]{1,16}$/;
let mock: MockProvider | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

/** The parsed data of every SSE event of one streamed request, by raw fetch. */
async function streamed(path: string, body: Record<string, unknown>): Promise<Array<Record<string, any>>> {
  const response = await fetch(`${mock!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream: true, ...body }) });
  const datas: Array<Record<string, any>> = [];
  const parser = createParser({ onEvent: (event) => void (event.data !== '[DONE]' && datas.push(JSON.parse(event.data))) });
  parser.feed(await response.text());
  return datas;
}

describe('startMockProvider({ obfuscation })', () => {
  it('pads every Chat Completions chunk with a choice, differently, unless the request turns it off', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT, usage: { inputTokens: 2, outputTokens: 6 } }, obfuscation: true });
    const padded = await streamed('/v1/chat/completions', { model: 'm', messages: [], stream_options: { include_usage: true } });
    const withChoice = padded.filter((chunk) => chunk.choices.length > 0);
    expect(withChoice.length).toBe(TEXT.length + 2); // role, the text, finish
    for (const chunk of withChoice) expect(chunk.obfuscation).toMatch(PADDING);
    expect(new Set(withChoice.map((chunk) => chunk.obfuscation)).size).toBeGreaterThan(withChoice.length / 2);
    // The padding is the chunk's last key, as OpenAI sends it.
    expect(Object.keys(withChoice[1]!).at(-1)).toBe('obfuscation');

    const plain = await streamed('/v1/chat/completions', { model: 'm', messages: [], stream_options: { include_usage: true, include_obfuscation: false } });
    expect(plain.some((chunk) => 'obfuscation' in chunk)).toBe(false);
    expect(plain.map((chunk) => chunk.choices[0]?.delta?.content)).toEqual(padded.map((chunk) => chunk.choices[0]?.delta?.content));
  });

  it('pads every Responses delta event and nothing else', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT }, obfuscation: true });
    const events = await streamed('/v1/responses', { model: 'm', input: 'x' });
    const deltas = events.filter((event) => String(event.type).endsWith('.delta'));
    expect(deltas.length).toBe(TEXT.length);
    for (const event of deltas) expect(event.obfuscation).toMatch(PADDING);
    expect(events.filter((event) => !String(event.type).endsWith('.delta')).some((event) => 'obfuscation' in event)).toBe(false);
  });

  it('is off by default: the same bytes as before', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT } });
    const chunks = await streamed('/v1/chat/completions', { model: 'm', messages: [] });
    expect(chunks.some((chunk) => 'obfuscation' in chunk)).toBe(false);
  });

  it.each([
    ['chat', undefined],
    ['responses', 'responses' as const],
  ])('tokenflow reads a padded %s stream to the same answer and usage as a plain one', async (_label, api) => {
    const read = async (obfuscation: boolean) => {
      mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT, usage: { inputTokens: 2, outputTokens: 6 } }, obfuscation });
      const llm = openai({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0, ...(api ? { api } : {}) });
      const response = await firstValueFrom(llm.stream({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).pipe(collect()));
      await mock.close();
      mock = undefined;
      return { text: response.content, usage: response.usage, stop: response.stopReason };
    };
    const padded = await read(true);
    expect(padded.text).toBe(TEXT.join(''));
    expect(padded).toEqual(await read(false));
  });

  it('rejects a value that is not a boolean, and the padding on a flavor that does not send it', async () => {
    await expect(startMockProvider({ flavor: 'openai', obfuscation: 'yes' as never })).rejects.toThrow(InvalidArgumentError);
    await expect(startMockProvider({ flavor: 'openai', obfuscation: 'yes' as never })).rejects.toThrow(/options\.obfuscation must be true or false/);
    for (const flavor of ['anthropic', 'groq', 'openai-compatible'] as const) {
      await expect(startMockProvider({ flavor, obfuscation: true })).rejects.toThrow(/does not send it/);
    }
    mock = await startMockProvider({ flavor: 'groq', obfuscation: false });
  });
});
