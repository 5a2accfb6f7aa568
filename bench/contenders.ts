/**
 * One streamed answer per call, read to the end, for each way of reading it. Every contender
 * touches each text delta (its length goes into the returned count) so none can skip work.
 */
import Anthropic from '@anthropic-ai/sdk';
import { createParser } from 'eventsource-parser';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import { anthropic } from '../src/providers/anthropic.js';
import { groq } from '../src/providers/groq.js';
import { openai } from '../src/providers/openai.js';
import type { Provider } from '../src/provider.js';
import { streamWithCallbacks } from '../src/bridge/streamWithCallbacks.js';
import { collect } from '../src/operators/collect.js';
import { progress } from '../src/operators/progress.js';

export type Flavor = 'openai' | 'anthropic' | 'groq';
/** Reads one answer; resolves to the number of text characters seen. */
export type Contender = () => Promise<number>;

const MESSAGES = [{ role: 'user' as const, content: 'Write a long answer.' }];
const MODEL = 'bench-model';

/** The raw bytes only: the cost of HTTP and the body stream, no parsing. */
function bytesOnly(url: string, body: unknown, headers: Record<string, string>): Contender {
  return async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    let n = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
    return n;
  };
}

/** The parser floor: fetch + eventsource-parser + JSON.parse of every event. */
function parserFloor(url: string, body: unknown, headers: Record<string, string>, textOf: (event: any) => string | undefined): Contender {
  return async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    let chars = 0;
    const parser = createParser({
      onEvent(message) {
        if (message.data === '[DONE]') return;
        const text = textOf(JSON.parse(message.data));
        if (text) chars += text.length;
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    return chars;
  };
}

/** tokenflow's ways of reading one answer, each touching every token's text. */
function tokenflow(provider: Provider): Record<string, Contender> {
  const request = { model: MODEL, messages: MESSAGES };
  return {
    // The bare event stream.
    'tokenflow events': () =>
      new Promise<number>((resolve, reject) => {
        let chars = 0;
        provider.stream(request).subscribe({
          next: (event) => {
            if (event.type === 'token') chars += event.text.length;
          },
          error: reject,
          complete: () => resolve(chars),
        });
      }),
    'tokenflow collect()': () =>
      new Promise<number>((resolve, reject) => {
        provider.stream(request).pipe(collect()).subscribe({ next: (answer) => resolve(answer.content.length), error: reject });
      }),
    'tokenflow progress()': () =>
      new Promise<number>((resolve, reject) => {
        let chars = 0;
        provider.stream(request).pipe(progress()).subscribe({
          next: (m) => {
            chars = m.chars;
          },
          error: reject,
          complete: () => resolve(chars),
        });
      }),
    'tokenflow streamWithCallbacks (sync)': async () => {
      let chars = 0;
      await streamWithCallbacks(provider.stream(request), {
        onToken: (text) => {
          chars += text.length;
        },
      });
      return chars;
    },
    'tokenflow streamWithCallbacks (async)': async () => {
      let chars = 0;
      await streamWithCallbacks(provider.stream(request), {
        onToken: async (text) => {
          chars += text.length;
        },
      });
      return chars;
    },
  };
}

export function contenders(flavor: Flavor, baseURL: string): Record<string, Contender> {
  const common = { apiKey: 'bench', baseURL, maxRetries: 0 };
  if (flavor === 'openai') {
    const client = new OpenAI(common);
    const url = `${baseURL}/chat/completions`;
    const body = { model: MODEL, messages: MESSAGES, stream: true, stream_options: { include_usage: true } };
    return {
      bytes: bytesOnly(url, body, {}),
      floor: parserFloor(url, body, {}, (chunk) => chunk.choices?.[0]?.delta?.content),
      sdk: async () => {
        let chars = 0;
        const stream = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
        for await (const chunk of stream) chars += chunk.choices[0]?.delta?.content?.length ?? 0;
        return chars;
      },
      ...tokenflow(openai({ client })),
    };
  }
  if (flavor === 'anthropic') {
    const client = new Anthropic(common);
    const url = `${baseURL}/v1/messages`;
    const body = { model: MODEL, max_tokens: 100_000, messages: MESSAGES, stream: true };
    const headers = { 'x-api-key': 'bench', 'anthropic-version': '2023-06-01' };
    return {
      bytes: bytesOnly(url, body, headers),
      floor: parserFloor(url, body, headers, (event) => (event.type === 'content_block_delta' ? event.delta?.text : undefined)),
      sdk: async () => {
        let chars = 0;
        const stream = await client.messages.create({ model: MODEL, max_tokens: 100_000, messages: MESSAGES, stream: true });
        for await (const event of stream) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') chars += event.delta.text.length;
        }
        return chars;
      },
      ...tokenflow(anthropic({ client })),
    };
  }
  const client = new Groq(common);
  const url = `${baseURL}/openai/v1/chat/completions`;
  const body = { model: MODEL, messages: MESSAGES, stream: true };
  return {
    bytes: bytesOnly(url, body, {}),
    floor: parserFloor(url, body, {}, (chunk) => chunk.choices?.[0]?.delta?.content),
    sdk: async () => {
      let chars = 0;
      const stream = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true });
      for await (const chunk of stream) chars += chunk.choices[0]?.delta?.content?.length ?? 0;
      return chars;
    },
    ...tokenflow(groq({ client })),
  };
}
