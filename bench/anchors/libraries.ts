/**
 * The libraries the anchors suite compares, each read the way its documentation reads a stream.
 * Every reader touches each text delta (its length is counted, and the first one is reported), so
 * none can skip work; every client is built with retries off, so a failure shows. Each library is
 * imported only when asked for, so a child process loads nothing but the library it measures.
 */
import { answerChars, modelFor } from './answer.js';

/**
 * tokenflow as users run it: its build (the suite builds it first), not its TypeScript sources,
 * which tsx would compile at load and so charge tokenflow alone for the compiler's memory and time.
 */
function fromBuild(file: string): string {
  return new URL(`../../dist/${file}`, import.meta.url).href;
}

export type Flavor = 'openai' | 'anthropic' | 'groq';

/** A way of reading an answer, one per row of the tables. */
export type ReaderId =
  | 'bytes'
  | 'floor'
  | 'floor-again'
  | 'floor-async'
  | 'sdk'
  | 'tokenflow-events'
  | 'tokenflow-collect'
  | 'tokenflow-progress'
  | 'tokenflow-callbacks-sync'
  | 'tokenflow-callbacks-async'
  | 'ai-sdk'
  | 'ai-sdk-7'
  | 'langchain';

/** A library, as far as cancellation goes (every reader of one library cancels the same request). */
export type FamilyId = 'fetch' | 'sdk' | 'tokenflow' | 'ai-sdk' | 'ai-sdk-7' | 'langchain';

export interface Reader {
  /**
   * Reads one answer of `tokens` deltas to the end; calls `onFirstText` when the first text delta
   * reaches the caller (not available from `collect()`, which emits once). Resolves to the
   * characters of text seen.
   */
  read(tokens: number, onFirstText?: () => void): Promise<number>;
}

/** One way of cancelling: starts a slow answer, cancels after `after` text deltas; resolves to the time of the cancel call (`break`, `abort()`, `unsubscribe()`), 0 if it never came. */
export type Cancel = (marker: string, after: number) => Promise<number>;

export interface Endpoints {
  /** The instant mock's base URL for this flavor (as the mock gives it). */
  instant: string;
  /** The slow mock's (100 tokens/s, for cancellation). */
  slow: string;
}

const PROMPT = 'Write a long answer.';
/** The slow answer is long enough (20 s) that only a cancellation ends it within the check. */
const SLOW_TOKENS = 2_000;
const API_KEY = 'bench';

/** Wall clock comparable across processes on this machine (the mock logs the same way). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The HTTP request the floor and `bytes` send, in the provider's wire format. */
function rawRequest(flavor: Flavor, baseURL: string, tokens: number, content: string) {
  const messages = [{ role: 'user', content }];
  if (flavor === 'anthropic') {
    return {
      url: `${baseURL}/v1/messages`,
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: modelFor(tokens), max_tokens: 100_000, messages, stream: true }),
    };
  }
  return {
    url: flavor === 'groq' ? `${baseURL}/openai/v1/chat/completions` : `${baseURL}/chat/completions`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ model: modelFor(tokens), messages, stream: true, stream_options: { include_usage: true } }),
  };
}

/** The text of one parsed event, in either wire format. */
function textOf(flavor: Flavor, event: any): string | undefined {
  if (flavor === 'anthropic') return event.type === 'content_block_delta' ? event.delta?.text : undefined;
  return event.choices?.[0]?.delta?.content;
}

/** Asks the instant mock for an answer of `tokens` deltas, as the floors and `bytes` do (no SDK). */
function postAnswer(flavor: Flavor, baseURL: string, tokens: number): Promise<Response> {
  const request = rawRequest(flavor, baseURL, tokens, PROMPT);
  return fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
}

export async function loadReader(id: ReaderId, flavor: Flavor, endpoints: Endpoints): Promise<Reader> {
  switch (id) {
    case 'bytes':
      // The cost of HTTP and the body stream alone: no parsing ("text" is the first body chunk).
      return {
        async read(tokens, onFirstText) {
          const response = await postAnswer(flavor, endpoints.instant, tokens);
          let bytes = 0;
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            if (bytes === 0) onFirstText?.();
            bytes += chunk.length;
          }
          // Not text: report the expected length when the body arrived, so the check still applies.
          return bytes > 0 ? answerChars(tokens) : 0;
        },
      };
    case 'floor':
    case 'floor-again': {
      // `floor-again` is the same code in its own processes: its distance from the floor is the suite's noise.
      const { createParser } = await import('eventsource-parser');
      return {
        async read(tokens, onFirstText) {
          const response = await postAnswer(flavor, endpoints.instant, tokens);
          let chars = 0;
          const parser = createParser({
            onEvent(message) {
              if (message.data === '[DONE]') return;
              const text = textOf(flavor, JSON.parse(message.data));
              if (text) {
                if (chars === 0) onFirstText?.();
                chars += text.length;
              }
            },
          });
          const decoder = new TextDecoder();
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
          return chars;
        },
      };
    }
    case 'floor-async': {
      // The floor with the async-callbacks row's handler: each text awaited, in order, before the
      // next, as any client that honours an async handler must. What the handler's promise per token
      // costs on its own, so the async-callbacks row can be read against it as well as the floor.
      const { createParser } = await import('eventsource-parser');
      return {
        async read(tokens, onFirstText) {
          const response = await postAnswer(flavor, endpoints.instant, tokens);
          let chars = 0;
          const onToken = async (text: string) => {
            if (chars === 0) onFirstText?.();
            chars += text.length;
          };
          const texts: string[] = [];
          const parser = createParser({
            onEvent(message) {
              if (message.data === '[DONE]') return;
              const text = textOf(flavor, JSON.parse(message.data));
              if (text) texts.push(text);
            },
          });
          const decoder = new TextDecoder();
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            parser.feed(decoder.decode(chunk, { stream: true }));
            for (let i = 0; i < texts.length; i++) await onToken(texts[i]!);
            texts.length = 0;
          }
          return chars;
        },
      };
    }
    case 'sdk':
      return loadSdkReader(flavor, endpoints.instant);
    case 'tokenflow-events':
    case 'tokenflow-collect':
    case 'tokenflow-progress':
    case 'tokenflow-callbacks-sync':
    case 'tokenflow-callbacks-async':
      return loadTokenflowReader(id, flavor, endpoints.instant);
    case 'ai-sdk':
      return loadAiSdkReader(flavor, endpoints.instant, 6);
    case 'ai-sdk-7':
      return loadAiSdkReader(flavor, endpoints.instant, 7);
    case 'langchain':
      return loadLangChainReader(flavor, endpoints.instant);
  }
}

async function loadSdkReader(flavor: Flavor, baseURL: string): Promise<Reader> {
  const messages = [{ role: 'user' as const, content: PROMPT }];
  if (flavor === 'anthropic') {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic({ apiKey: API_KEY, baseURL, maxRetries: 0 });
    return {
      async read(tokens, onFirstText) {
        let chars = 0;
        const stream = await client.messages.create({ model: modelFor(tokens), max_tokens: 100_000, messages, stream: true });
        for await (const event of stream) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
            if (chars === 0) onFirstText?.();
            chars += event.delta.text.length;
          }
        }
        return chars;
      },
    };
  }
  const client =
    flavor === 'groq'
      ? new (await import('groq-sdk')).default({ apiKey: API_KEY, baseURL, maxRetries: 0 })
      : new (await import('openai')).default({ apiKey: API_KEY, baseURL, maxRetries: 0 });
  return {
    async read(tokens, onFirstText) {
      let chars = 0;
      const body = { model: modelFor(tokens), messages, stream: true as const, stream_options: { include_usage: true } };
      // The two SDKs' types differ only in names; the call and the chunks are the same.
      const stream = await (client as import('openai').default).chat.completions.create(body);
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        if (text) {
          if (chars === 0) onFirstText?.();
          chars += text.length;
        }
      }
      return chars;
    },
  };
}

async function tokenflowProvider(flavor: Flavor, baseURL: string) {
  const options = { apiKey: API_KEY, baseURL, maxRetries: 0 };
  if (flavor === 'anthropic') return ((await import(fromBuild('anthropic.js'))) as typeof import('../../src/providers/anthropic.js')).anthropic(options);
  if (flavor === 'groq') return ((await import(fromBuild('groq.js'))) as typeof import('../../src/providers/groq.js')).groq(options);
  return ((await import(fromBuild('openai.js'))) as typeof import('../../src/providers/openai.js')).openai(options);
}

function tokenflowRequest(tokens: number, content: string) {
  return { model: modelFor(tokens), messages: [{ role: 'user' as const, content }] };
}

async function loadTokenflowReader(id: ReaderId, flavor: Flavor, baseURL: string): Promise<Reader> {
  const provider = await tokenflowProvider(flavor, baseURL);
  const { collect, progress, streamWithCallbacks } = (await import(fromBuild('index.js'))) as typeof import('../../src/index.js');
  const stream = (tokens: number) => provider.stream(tokenflowRequest(tokens, PROMPT));
  switch (id) {
    case 'tokenflow-collect':
      return {
        read: (tokens) =>
          new Promise<number>((resolve, reject) => {
            stream(tokens).pipe(collect()).subscribe({ next: (answer) => resolve(answer.content.length), error: reject });
          }),
      };
    case 'tokenflow-progress':
      return {
        read: (tokens, onFirstText) =>
          new Promise<number>((resolve, reject) => {
            let chars = 0;
            stream(tokens).pipe(progress()).subscribe({
              next: (m) => {
                if (chars === 0 && m.chars > 0) onFirstText?.();
                chars = m.chars;
              },
              error: reject,
              complete: () => resolve(chars),
            });
          }),
      };
    case 'tokenflow-callbacks-sync':
      return {
        async read(tokens, onFirstText) {
          let chars = 0;
          await streamWithCallbacks(stream(tokens), {
            onToken: (text) => {
              if (chars === 0) onFirstText?.();
              chars += text.length;
            },
          });
          return chars;
        },
      };
    case 'tokenflow-callbacks-async':
      return {
        async read(tokens, onFirstText) {
          let chars = 0;
          await streamWithCallbacks(stream(tokens), {
            onToken: async (text) => {
              if (chars === 0) onFirstText?.();
              chars += text.length;
            },
          });
          return chars;
        },
      };
    default:
      return {
        read: (tokens, onFirstText) =>
          new Promise<number>((resolve, reject) => {
            let chars = 0;
            stream(tokens).subscribe({
              next: (event) => {
                if (event.type === 'token') {
                  if (chars === 0) onFirstText?.();
                  chars += event.text.length;
                }
              },
              error: reject,
              complete: () => resolve(chars),
            });
          }),
      };
  }
}

/** One `streamText` call's text deltas; `tokens` picks the answer's length (the model id carries it). */
type AiSdkStream = (tokens: number, prompt: string, abortSignal?: AbortSignal) => AsyncIterable<string>;

/**
 * The AI SDK's `streamText` for a flavor, from its major 6 (`ai`, `@ai-sdk/openai` 3,
 * `@ai-sdk/anthropic` 3) or 7 (the npm aliases `ai-v7`, `@ai-sdk/openai-v7`, `@ai-sdk/anthropic-v7`:
 * `ai` 7 with its providers' major 4; each alias loads its own nested `@ai-sdk/provider-utils` 5,
 * not major 6's top-level 4). The two are typed separately, so either major's API change fails the
 * type check. `@ai-sdk/openai`'s default `openai(id)` calls the Responses API; `.chat(id)` is Chat
 * Completions, the same wire format as every other OpenAI row. The Anthropic `baseURL` is the prefix
 * before `/messages`, so it includes `/v1`.
 */
async function aiSdkStream(flavor: Flavor, baseURL: string, major: 6 | 7): Promise<AiSdkStream> {
  if (flavor === 'groq') throw new Error('ai-sdk: no Groq provider installed for the bench');
  const settings = { baseURL: flavor === 'anthropic' ? `${baseURL}/v1` : baseURL, apiKey: API_KEY };
  const common = (prompt: string, abortSignal?: AbortSignal) => ({ prompt, maxRetries: 0, maxOutputTokens: 100_000, onError: () => undefined, ...(abortSignal ? { abortSignal } : {}) });
  if (major === 7) {
    const { streamText } = await import('ai-v7');
    let model: (id: string) => import('ai-v7').LanguageModel;
    if (flavor === 'anthropic') model = (await import('@ai-sdk/anthropic-v7')).createAnthropic(settings);
    else {
      const openai = (await import('@ai-sdk/openai-v7')).createOpenAI(settings);
      model = (id) => openai.chat(id);
    }
    return (tokens, prompt, abortSignal) => streamText({ model: model(modelFor(tokens)), ...common(prompt, abortSignal) }).textStream;
  }
  const { streamText } = await import('ai');
  let model: (id: string) => import('ai').LanguageModel;
  if (flavor === 'anthropic') model = (await import('@ai-sdk/anthropic')).createAnthropic(settings);
  else {
    const openai = (await import('@ai-sdk/openai')).createOpenAI(settings);
    model = (id) => openai.chat(id);
  }
  return (tokens, prompt, abortSignal) => streamText({ model: model(modelFor(tokens)), ...common(prompt, abortSignal) }).textStream;
}

async function loadAiSdkReader(flavor: Flavor, baseURL: string, major: 6 | 7): Promise<Reader> {
  const stream = await aiSdkStream(flavor, baseURL, major);
  return {
    async read(tokens, onFirstText) {
      let chars = 0;
      for await (const text of stream(tokens, PROMPT)) {
        if (chars === 0) onFirstText?.();
        chars += text.length;
      }
      return chars;
    },
  };
}

/** LangChain chat models for a flavor, one per answer length (the model id carries it). */
async function langChainModel(flavor: Flavor, baseURL: string) {
  const models = new Map<number, { stream: (input: string, options?: { signal?: AbortSignal }) => Promise<AsyncIterable<{ text: string }>> }>();
  if (flavor === 'anthropic') {
    const { ChatAnthropic } = await import('@langchain/anthropic');
    return (tokens: number) => {
      let model = models.get(tokens);
      if (!model) models.set(tokens, (model = new ChatAnthropic({ model: modelFor(tokens), apiKey: API_KEY, anthropicApiUrl: baseURL, maxRetries: 0, maxTokens: 100_000 })));
      return model;
    };
  }
  if (flavor === 'groq') throw new Error('langchain: no Groq integration installed for the bench');
  const { ChatOpenAI } = await import('@langchain/openai');
  return (tokens: number) => {
    let model = models.get(tokens);
    if (!model) models.set(tokens, (model = new ChatOpenAI({ model: modelFor(tokens), apiKey: API_KEY, configuration: { baseURL }, maxRetries: 0, streamUsage: true })));
    return model;
  };
}

async function loadLangChainReader(flavor: Flavor, baseURL: string): Promise<Reader> {
  const model = await langChainModel(flavor, baseURL);
  return {
    async read(tokens, onFirstText) {
      let chars = 0;
      for await (const chunk of await model(tokens).stream(PROMPT)) {
        const text = chunk.text;
        if (text) {
          if (chars === 0) onFirstText?.();
          chars += text.length;
        }
      }
      return chars;
    },
  };
}

/** Each library's ways of cancelling a stream, against the slow mock. */
export async function loadCancels(family: FamilyId, flavor: Flavor, endpoints: Endpoints): Promise<Record<string, Cancel>> {
  const baseURL = endpoints.slow;
  const content = (marker: string) => `${PROMPT} ${marker}`;
  switch (family) {
    case 'fetch': {
      const { createParser } = await import('eventsource-parser');
      return {
        'AbortController.abort()': async (marker, after) => {
          const request = rawRequest(flavor, baseURL, SLOW_TOKENS, content(marker));
          const controller = new AbortController();
          const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: controller.signal });
          let seen = 0;
          let at = 0;
          const parser = createParser({
            onEvent(message) {
              if (message.data !== '[DONE]' && textOf(flavor, JSON.parse(message.data)) && ++seen === after) {
                at = epochMs();
                controller.abort();
              }
            },
          });
          const decoder = new TextDecoder();
          try {
            for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
          } catch {
            // The abort rejects the read: expected.
          }
          return at;
        },
      };
    }
    case 'sdk': {
      const messages = (marker: string) => [{ role: 'user' as const, content: content(marker) }];
      if (flavor === 'anthropic') {
        const { default: Anthropic } = await import('@anthropic-ai/sdk');
        const client = new Anthropic({ apiKey: API_KEY, baseURL, maxRetries: 0 });
        const open = (marker: string, signal?: AbortSignal) =>
          client.messages.create({ model: modelFor(SLOW_TOKENS), max_tokens: 100_000, messages: messages(marker), stream: true }, signal ? { signal } : {});
        return {
          'break out of for-await': async (marker, after) => {
            let seen = 0;
            let at = 0;
            for await (const event of await open(marker)) {
              if (event.type === 'content_block_delta' && ++seen === after) {
                at = epochMs();
                break;
              }
            }
            return at;
          },
          'abort signal': (marker, after) => abortLoop(async (signal, hit) => {
            for await (const event of await open(marker, signal)) if (event.type === 'content_block_delta') hit();
          }, after),
        };
      }
      const client =
        flavor === 'groq'
          ? new (await import('groq-sdk')).default({ apiKey: API_KEY, baseURL, maxRetries: 0 })
          : new (await import('openai')).default({ apiKey: API_KEY, baseURL, maxRetries: 0 });
      const open = (marker: string, signal?: AbortSignal) =>
        (client as import('openai').default).chat.completions.create({ model: modelFor(SLOW_TOKENS), messages: messages(marker), stream: true }, signal ? { signal } : {});
      return {
        'break out of for-await': async (marker, after) => {
          let seen = 0;
          let at = 0;
          for await (const chunk of await open(marker)) {
            if (chunk.choices[0]?.delta?.content && ++seen === after) {
              at = epochMs();
              break;
            }
          }
          return at;
        },
        'abort signal': (marker, after) => abortLoop(async (signal, hit) => {
          for await (const chunk of await open(marker, signal)) if (chunk.choices[0]?.delta?.content) hit();
        }, after),
      };
    }
    case 'tokenflow': {
      const provider = await tokenflowProvider(flavor, baseURL);
      const { streamWithCallbacks } = (await import(fromBuild('index.js'))) as typeof import('../../src/index.js');
      return {
        unsubscribe: (marker, after) =>
          new Promise<number>((resolve, reject) => {
            let seen = 0;
            const subscription = provider.stream(tokenflowRequest(SLOW_TOKENS, content(marker))).subscribe({
              next: (event) => {
                if (event.type === 'token' && ++seen === after) {
                  const at = epochMs();
                  // Tokens arrive asynchronously, so `subscription` is assigned by now.
                  subscription.unsubscribe();
                  resolve(at);
                }
              },
              error: reject,
            });
          }),
        'streamWithCallbacks signal': (marker, after) => abortLoop(async (signal, hit) => {
          await streamWithCallbacks(provider.stream(tokenflowRequest(SLOW_TOKENS, content(marker))), { onToken: hit, signal });
        }, after),
      };
    }
    case 'ai-sdk':
    case 'ai-sdk-7': {
      const stream = await aiSdkStream(flavor, baseURL, family === 'ai-sdk-7' ? 7 : 6);
      const open = (marker: string, abortSignal?: AbortSignal) => stream(SLOW_TOKENS, content(marker), abortSignal);
      return {
        abortSignal: (marker, after) => abortLoop(async (signal, hit) => {
          for await (const _text of open(marker, signal)) hit();
        }, after),
        'break out of textStream': async (marker, after) => {
          let seen = 0;
          let at = 0;
          for await (const _text of open(marker)) {
            if (++seen === after) {
              at = epochMs();
              break;
            }
          }
          return at;
        },
      };
    }
    case 'langchain': {
      const model = await langChainModel(flavor, baseURL);
      return {
        'signal option': (marker, after) => abortLoop(async (signal, hit) => {
          for await (const chunk of await model(SLOW_TOKENS).stream(content(marker), { signal })) if (chunk.text) hit();
        }, after),
        'break out of for-await': async (marker, after) => {
          let seen = 0;
          let at = 0;
          for await (const chunk of await model(SLOW_TOKENS).stream(content(marker))) {
            if (chunk.text && ++seen === after) {
              at = epochMs();
              break;
            }
          }
          return at;
        },
      };
    }
  }
}

/**
 * Runs `consume` with a signal, aborts after `after` hits, and resolves to when; the rejection the
 * abort causes is expected and swallowed (a loop that ends without the abort is reported as 0).
 */
async function abortLoop(consume: (signal: AbortSignal, hit: () => void) => Promise<void>, after: number): Promise<number> {
  const controller = new AbortController();
  let seen = 0;
  let at = 0;
  try {
    await consume(controller.signal, () => {
      if (++seen === after) {
        at = epochMs();
        controller.abort();
      }
    });
  } catch {
    // Aborted: expected.
  }
  return at;
}
