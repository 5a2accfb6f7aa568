/**
 * The web example's server: a chat whose answers stream into the page over Server-Sent Events.
 *
 *   npm run example:web            # http://127.0.0.1:5173 (PORT to change it)
 *
 * GET  /api/config                    → { provider: 'mock' | 'openai', model }: what answers (the page's badge)
 * POST /api/ask { prompt, session? }  → { session, channel }: starts the answer in the session's
 *                                       Conversation (a new session when `session` is missing or unknown)
 * GET  /api/streams/:channel          → the answer as SSE (resumable with Last-Event-ID)
 * GET  /api/streams/:channel/info     → { question, askedAt }: what a follower tab shows above the answer
 * POST /api/streams/:channel/stop     → stops it for every follower (and the upstream request)
 * GET  /*                             → the page (Vite middleware, or a `vite build` output)
 *
 * Each browser tab is a session (the page keeps its id in `sessionStorage`), and each session has
 * its own `Conversation`: a follow-up question is sent with the earlier turns.
 *
 * With OPENAI_API_KEY set it asks OpenAI; otherwise the built-in mock provider, with OpenAI's
 * latency profile (it prints which, and the page shows it). Either way the Agent has one tool,
 * `time` (computed here, no key needed), and runs its tool loop: the page shows each call and its
 * result as they happen. The mock answers from a small bank of replies keyed by the question
 * ({@link MOCK_REPLIES}) and calls the tool for questions about the time (see {@link exampleScript}).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, Conversation, tool, type Provider } from 'tokenflow';
import { openai } from 'tokenflow/openai';
import { StreamHub, type StreamHubOptions } from 'tokenflow/sse';
import { startMockProvider, type MockProvider, type MockProviderOptions, type MockRequest, type MockScript } from 'tokenflow/testing';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The mock's reply to questions about streaming. */
export const MOCK_ANSWER =
  'Streaming puts the first words on screen within a second, while the rest is still being written. ' +
  'People judge speed by the first sign of life, so the same total time feels far shorter. ' +
  'It also lets you stop an answer going the wrong way: stopping here closes the request to the model, ' +
  'so nobody pays for words nobody reads.';

/** One entry of the mock's bank: the questions it answers, and what it says. */
export interface MockReply {
  /** Tested against the question. */
  match: RegExp;
  /**
   * The reply, or a function of the question (and its `match`) and the questions asked earlier in
   * the conversation (oldest first), as the request carried them.
   */
  reply: string | ((question: string, match: RegExpExecArray, earlier: readonly string[]) => string);
}

/** A name as someone would give it: "My name is Ada", "my name is Jean-Luc". */
const NAME = /\bmy name is ([\p{L}][\p{L}'-]*)/iu;

/**
 * The mock's bank of replies, tried in order (questions about the time go to the `time` tool
 * first). Enough variety for the demo to feel alive; {@link defaultReply} answers the rest.
 */
export const MOCK_REPLIES: readonly MockReply[] = [
  {
    match: NAME,
    reply: (_question, match) =>
      `Nice to meet you, ${match[1]}. I will remember your name for the rest of this conversation: ` +
      'ask me "What is my name?" to check. The server keeps each tab\'s turns in a Conversation and sends them with every question.',
  },
  {
    match: /\bwhat(?:'s| is) my name\b/i,
    reply: (_question, _match, earlier) => {
      for (let i = earlier.length - 1; i >= 0; i--) {
        const name = NAME.exec(earlier[i]!)?.[1];
        if (name) {
          const ago = earlier.length - i;
          return `Your name is ${name}: you told me ${ago === 1 ? 'one question' : `${ago} questions`} ago. ` +
            'That turn came back with this request, which is how a model "remembers".';
        }
      }
      return 'You have not told me your name yet. Say "My name is …", then ask again.';
    },
  },
  {
    match: /\b(?:hi|hello|hey|good (?:morning|afternoon|evening))\b/i,
    reply:
      'Hello! I am the demo\'s mock model: I answer from a small bank of replies, at the pace of a real one. ' +
      'Try "Why does streaming feel faster?", "What time is it in Asia/Tokyo?", or "Tell me a long story" and press Stop halfway.',
  },
  {
    match: /\b(?:story|long)\b/i,
    reply:
      'Once there was a lighthouse keeper who counted the ships by their lights. Every night she wrote the count ' +
      'in a ledger, one line per ship, and every morning the sea had rubbed the numbers soft with salt. ' +
      'One winter a ship came in with no lights at all, only the sound of its engine, slow and patient. ' +
      'She could not count it, so she went down to the harbour with a lamp and waited. ' +
      'The ship tied up at dawn. Its crew had been sailing for a month on a broken generator, ' +
      'steering by the lighthouse alone, and they had brought her a new ledger as thanks, bound in sailcloth. ' +
      'She wrote the first line in it that morning: one ship, no lights, counted by hand. ' +
      'This is a long answer on purpose, so there is time to press Stop: the rest of it is never generated, ' +
      'and every tab following it marks it stopped.',
  },
  {
    match: /\b(?:stream(?:s|ing)?|fast(?:er)?|slow|latency)\b/i,
    reply: MOCK_ANSWER,
  },
  {
    match: /\b(?:stop(?:s|ped|ping)?|cancel\w*)\b/i,
    reply:
      'Stop sends one request to the server, which cancels the upstream request to the model: it stops generating, ' +
      'and stops billing. Every tab following the answer gets the same news and marks it stopped. ' +
      'The words that arrived stay on screen; a stopped answer is not kept in the conversation.',
  },
  {
    match: /\b(?:reload\w*|refresh\w*|resum\w*|reconnect\w*)\b/i,
    reply:
      'Reload the page while an answer is streaming: the page keeps what it received, reconnects with the id of the ' +
      'last event it has (Last-Event-ID), and the server sends only what came after. Nothing is shown twice, ' +
      'and the answer keeps going on the server while nobody is connected.',
  },
  {
    match: /\b(?:tokenflow|who are you|what are you|what can you do)\b/i,
    reply:
      'This page is a demo of tokenflow: every provider\'s streaming API as one RxJS Observable of token events. ' +
      'The server runs an Agent with a Conversation per tab and publishes each answer on a StreamHub; ' +
      'the page follows it over Server-Sent Events with a React hook.',
  },
  {
    match: /\b(?:thanks|thank you|cheers)\b/i,
    reply: 'You are welcome. Ask me anything else, or open the follow link in another tab while I answer.',
  },
];

/**
 * The mock's reply to a question its bank does not know.
 *
 * @param question - the question as asked
 * @returns a reply that quotes the question and lists what the mock knows
 */
export function defaultReply(question: string): string {
  const quoted = question.length > 80 ? `${question.slice(0, 77)}…` : question;
  return (
    `I am the mock provider, so I only know a few questions, and "${quoted}" is not one of them. ` +
    'Try "Why does streaming feel faster?", "What time is it in Europe/Paris?", "My name is Ada", ' +
    'or "Tell me a long story". Start the server with OPENAI_API_KEY set to ask a real model.'
  );
}

/**
 * The bank's reply to a question.
 *
 * @param question - the latest question
 * @param earlier - the questions asked before it in the conversation, oldest first
 * @returns the first matching entry's reply, or {@link defaultReply}
 */
export function mockReply(question: string, earlier: readonly string[] = []): string {
  for (const { match, reply } of MOCK_REPLIES) {
    const found = match.exec(question);
    if (found) return typeof reply === 'string' ? reply : reply(question, found, earlier);
  }
  return defaultReply(question);
}

/**
 * The example's one tool: the current time in an IANA time zone, computed locally. An unknown zone
 * makes `Intl` throw, which the loop turns into an error result the model sees (and can correct).
 */
export const timeTool = tool({
  description: 'The current time (24-hour HH:MM) in an IANA time zone such as Europe/Paris or UTC.',
  inputSchema: {
    type: 'object',
    properties: { timeZone: { type: 'string', description: 'An IANA time zone name, e.g. Asia/Tokyo.' } },
    required: ['timeZone'],
    additionalProperties: false,
  },
  execute: (input) => {
    const { timeZone } = input as { timeZone: string };
    const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date());
    return { timeZone, time };
  },
});

/** An IANA zone named in a question (`Asia/Tokyo`), or UTC. */
const ZONE = /\b[A-Z][A-Za-z_]+\/[A-Z][A-Za-z_]+(?:\/[A-Z][A-Za-z_]+)?\b/;

/** A Chat Completions message as the mock reads it. */
interface WireMessage {
  role?: unknown;
  content?: unknown;
  tool_call_id?: unknown;
}

/** A message's text: a string, or the text parts of an array. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { type?: unknown; text?: unknown }) => (part?.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('');
}

/**
 * The mock's script: a question about the time gets a `time` call first (for the zone the question
 * names, else UTC), then, once the request carries the tool's result, an answer quoting it. Any
 * other question gets `reply(question, earlier)`. A stand-in for what a real model decides by itself.
 *
 * Only what came after the latest question counts as this question's tool results: the earlier
 * turns of the conversation (sent with every request) may hold results of their own.
 *
 * @param reply - the text for questions that are not about the time. @defaultValue {@link mockReply}
 * @returns a script function for `startMockProvider({ script })`
 */
export function exampleScript(reply: (question: string, earlier: readonly string[]) => string = mockReply): (request: MockRequest) => MockScript {
  return (request) => {
    const messages: WireMessage[] = Array.isArray(request.body?.messages) ? (request.body.messages as WireMessage[]) : [];
    let lastUser = messages.length - 1;
    while (lastUser >= 0 && messages[lastUser]!.role !== 'user') lastUser--;
    const question = lastUser === -1 ? '' : textOf(messages[lastUser]!.content);
    const earlier = messages.slice(0, Math.max(0, lastUser)).filter((m) => m.role === 'user').map((m) => textOf(m.content));
    const answered = new Set(messages.slice(lastUser + 1).filter((m) => m.role === 'tool').map((m) => m.tool_call_id));
    const result = request.toolResults.find((r) => answered.has(r.toolCallId));
    if (result) {
      let said = result.output;
      try {
        const { timeZone, time } = JSON.parse(result.output) as { timeZone?: unknown; time?: unknown };
        if (typeof timeZone === 'string' && typeof time === 'string') said = `It is ${time} in ${timeZone} right now.`;
      } catch {
        // Not the tool's JSON (an error result): quote it as it is.
      }
      return { text: said };
    }
    if (/\btime\b/i.test(question)) {
      const timeZone = ZONE.exec(question)?.[0] ?? 'UTC';
      // A fresh id per request: a conversation may ask the time more than once.
      return { toolCalls: [{ id: `call_time_${request.index}`, name: 'time', arguments: ['{"timeZone":', JSON.stringify(timeZone), '}'] }] };
    }
    return { text: reply(question, earlier) };
  };
}

/** Options for {@link startWebExample}. */
export interface WebExampleOptions {
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /**
   * How to serve the page: `'vite'` runs Vite in middleware mode (edits reload), `{ dir }` serves
   * a `vite build` output (see {@link buildWebExample}), `false` serves only the API.
   * @defaultValue 'vite'
   */
  page?: 'vite' | { dir: string } | false;
  /**
   * Use the mock provider with these options (flavor `openai`, profile `openai`, script
   * {@link exampleScript} unless given), even when OPENAI_API_KEY is set. Without it, the mock is
   * used only when there is no key.
   */
  mock?: Partial<MockProviderOptions>;
  /** @defaultValue 'gpt-4o-mini' */
  model?: string;
  /** Passed to the `StreamHub` (retry delay, replay buffer, grace period, …). */
  hub?: StreamHubOptions;
  /**
   * The most sessions (tabs) kept; past it the least recently used one is forgotten (its next
   * question starts a new conversation). @defaultValue 1000
   */
  maxSessions?: number;
  /** Where the one-line notices go. @defaultValue console.error */
  log?: (line: string) => void;
  /** @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

/** One GET of an SSE stream, as the server received it. */
export interface FollowRequest {
  channel: string;
  /** The `Last-Event-ID` header, or the `lastEventId` query parameter, when the client sent one. */
  lastEventId: string | undefined;
}

/** What `GET /api/config` answers: which provider answers, for the page's badge. */
export interface WebExampleConfig {
  /** `mock`: the built-in mock provider (no key); `openai`: OpenAI with OPENAI_API_KEY. */
  provider: 'mock' | 'openai';
  model: string;
}

/** A running web example. */
export interface WebExample {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly hub: StreamHub;
  /** The mock provider, when the example uses it. */
  readonly mock: MockProvider | undefined;
  readonly config: WebExampleConfig;
  /** Every SSE follow request so far, in arrival order. */
  readonly follows: readonly FollowRequest[];
  /** The conversation of a session (the id `POST /api/ask` answered with), or `undefined`. */
  conversation(session: string): Conversation | undefined;
  /**
   * Test hook: destroys the sockets of the SSE responses open now, as a proxy or a network
   * failure would mid-stream. Returns how many it cut.
   */
  cutConnections(): number;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** The longest question the server takes, in characters. */
const MAX_PROMPT = 4000;

/**
 * Builds the page once with Vite into `outDir` (for serving it without Vite at run time, as the
 * tests do). Resolves to `outDir`.
 *
 * @param mode - `'production'` (what `vite build` ships), or `'development'`: React's development
 *   build, as `npm run example:web` serves it (StrictMode runs every effect twice, and React's
 *   warnings reach the console). @defaultValue 'production'
 */
export async function buildWebExample(outDir: string, mode: 'production' | 'development' = 'production'): Promise<string> {
  const { build } = await import('vite');
  await build({
    configFile: join(here, 'vite.config.ts'),
    logLevel: 'warn',
    mode,
    // Whatever NODE_ENV the caller runs under (vitest sets 'test'), React's build follows `mode`.
    define: { 'process.env.NODE_ENV': JSON.stringify(mode) },
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body must be JSON');
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Serves a built page: files under `dir`, and index.html for any other page path (a single-page
 * app). A missing file (a path with an extension, such as /favicon.ico) is a 404, as Vite's dev
 * server answers it, rather than the page's HTML under the wrong name.
 */
function staticPage(dir: string): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const root = resolve(dir);
  return async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    let file = resolve(root, `.${pathname}`);
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      if (extname(pathname) !== '') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`${pathname} not found`);
        return;
      }
      file = join(root, 'index.html');
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      // Hashed assets may be cached; index.html must not be.
      'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    createReadStream(file).pipe(res);
  };
}

/**
 * The sessions (one per tab), least recently used first: each has its Conversation. Ids are made
 * here (unguessable), never taken from the client: an unknown id gets a new session.
 */
class Sessions {
  readonly #byId = new Map<string, Conversation>();

  constructor(private readonly max: number) {}

  get(id: string): Conversation | undefined {
    return this.#byId.get(id);
  }

  /** The session `id` (now the most recently used), or a new one when `id` is missing or unknown. */
  use(id: string | undefined): { id: string; conversation: Conversation } {
    const known = id === undefined ? undefined : this.#byId.get(id);
    if (id !== undefined && known) {
      this.#byId.delete(id);
      this.#byId.set(id, known);
      return { id, conversation: known };
    }
    // Twenty turns back at most: enough context for a chat, a bounded request.
    const conversation = new Conversation({ id: randomUUID(), maxTurns: 20 });
    this.#byId.set(conversation.id, conversation);
    if (this.#byId.size > this.max) this.#byId.delete(this.#byId.keys().next().value!);
    return { id: conversation.id, conversation };
  }
}

/**
 * Starts the example: the provider (real or mock), an Agent, a StreamHub and the HTTP server.
 *
 * @example
 * const web = await startWebExample({ page: { dir: await buildWebExample(tmp) }, mock: { script: { text: 'Hi there' } } });
 * // open web.url in a browser …
 * await web.close();
 */
export async function startWebExample(options: WebExampleOptions = {}): Promise<WebExample> {
  const log = options.log ?? ((line: string) => console.error(line));
  const env = options.env ?? process.env;
  const model = options.model ?? 'gpt-4o-mini';

  let mock: MockProvider | undefined;
  let provider: Provider;
  if (options.mock || !env.OPENAI_API_KEY) {
    mock = await startMockProvider({ flavor: 'openai', profile: 'openai', script: exampleScript(), ...options.mock });
    // No SDK retries: one question is exactly one upstream request.
    provider = openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 });
    if (!options.mock) log('No OPENAI_API_KEY: using the built-in mock provider.');
  } else {
    provider = openai({ apiKey: env.OPENAI_API_KEY });
    log(`Using OpenAI (${model}).`);
  }
  const config: WebExampleConfig = { provider: mock ? 'mock' : 'openai', model };
  const agent = new Agent({ provider, model, systemPrompt: 'Answer in one short paragraph. For the current time, call the time tool.' });
  const hub = new StreamHub(options.hub);
  const sse = hub.handler();
  const sessions = new Sessions(options.maxSessions ?? 1000);

  const open = new Set<ServerResponse>();
  const follows: FollowRequest[] = [];
  let page: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  let closeVite: (() => Promise<void>) | undefined;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;

    if (path === '/api/config') {
      sendJson(res, 200, config);
      return;
    }

    if (path === '/api/ask') {
      if (req.method !== 'POST') throw new HttpError(405, 'POST a JSON body { prompt, session? }');
      const body = (await readJson(req)) as { prompt?: unknown; session?: unknown } | null;
      const prompt = typeof body?.prompt === 'string' ? body.prompt.trim() : '';
      if (prompt === '') throw new HttpError(400, 'prompt must be a non-empty string');
      if (prompt.length > MAX_PROMPT) throw new HttpError(400, `prompt must be at most ${MAX_PROMPT} characters`);
      const session = sessions.use(typeof body?.session === 'string' ? body.session : undefined);
      const channel = randomUUID();
      // The hub subscribes now: the answer is generated once, whoever follows it and whenever.
      // With tools the stream is the whole loop (model → time tool → model): followers get every
      // step, each tool call and its result, then the answer. The Conversation sends the earlier
      // turns and records this one once it completes (a stopped answer records nothing).
      // The question rides in the channel's meta, for follower tabs (GET …/info).
      await hub.publish(channel, agent.stream(prompt, { history: session.conversation, tools: { time: timeTool }, maxSteps: 3 }), {
        meta: { question: prompt, askedAt: Date.now() },
      });
      sendJson(res, 200, { session: session.id, channel });
      return;
    }

    const stream = /^\/api\/streams\/([^/]+)(\/stop|\/info)?$/.exec(path);
    if (stream) {
      const channel = decodeURIComponent(stream[1]!);
      if (stream[2] === '/info') {
        if (req.method !== 'GET') throw new HttpError(405, 'GET /api/streams/:channel/info');
        // An id the hub would refuse is a channel that does not exist.
        const info = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(channel) ? await hub.info(channel) : undefined;
        if (!info) throw new HttpError(404, `no channel "${channel}": it was never published, or it expired`);
        sendJson(res, 200, { question: info.meta.question, askedAt: info.meta.askedAt });
        return;
      }
      if (!stream[2] && req.method === 'GET') {
        const header = req.headers['last-event-id'];
        follows.push({ channel, lastEventId: (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('lastEventId') ?? undefined });
        open.add(res);
        res.on('close', () => open.delete(res));
      } else if (!(stream[2] && req.method === 'POST')) {
        throw new HttpError(405, 'GET /api/streams/:channel to follow, POST /api/streams/:channel/stop to stop');
      }
      await sse(req, res, channel);
      return;
    }

    if (path.startsWith('/api/')) throw new HttpError(404, `no route for ${req.method} ${path}`);
    if (!page) throw new HttpError(404, 'this server serves the API only');
    await page(req, res);
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) log(`web example: ${req.method} ${req.url} failed: ${String(error)}`);
      if (!res.headersSent) sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });

  const pageOption = options.page ?? 'vite';
  if (pageOption === 'vite') {
    const { createServer: createViteServer } = await import('vite');
    const vite = await createViteServer({
      configFile: join(here, 'vite.config.ts'),
      appType: 'spa',
      logLevel: 'warn',
      server: { middlewareMode: true, ws: { server } },
    });
    page = (req, res) =>
      new Promise<void>((resolvePage) => {
        res.on('close', () => resolvePage());
        vite.middlewares(req, res, () => {
          if (!res.headersSent) res.writeHead(404).end();
          resolvePage();
        });
      });
    closeVite = () => vite.close();
  } else if (pageOption) {
    page = staticPage(pageOption.dir);
  }

  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await new Promise<void>((resolveListen, reject) => {
    server.once('listening', resolveListen);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  return {
    url,
    hub,
    mock,
    config,
    follows,
    conversation: (session) => sessions.get(session),
    cutConnections() {
      const cut = [...open];
      for (const res of cut) res.socket?.destroy();
      return cut.length;
    },
    async close() {
      for (const res of open) res.socket?.destroy();
      await hub.close();
      await closeVite?.();
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      await mock?.close();
    },
  };
}

/** `tsx examples/web/server.ts`: runs the example until Ctrl-C. */
function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const example = await startWebExample({ port: Number(process.env.PORT ?? 5173) });
  console.error(`tokenflow web example: ${example.url}`);
  const shutdown = () => {
    process.off('SIGINT', shutdown);
    process.off('SIGTERM', shutdown);
    example.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
