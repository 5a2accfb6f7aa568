/**
 * The web example's server: a page that shows an answer as it streams, over Server-Sent Events.
 *
 *   npm run example:web            # http://127.0.0.1:5173 (PORT to change it)
 *
 * POST /api/ask { prompt }            → { channel }: starts the answer, published on a StreamHub
 * GET  /api/streams/:channel          → the answer as SSE (resumable with Last-Event-ID)
 * POST /api/streams/:channel/stop     → stops it for every follower (and the upstream request)
 * GET  /*                             → the page (Vite middleware, or a `vite build` output)
 *
 * With OPENAI_API_KEY set it asks OpenAI; otherwise the built-in mock provider, with OpenAI's
 * latency profile (it prints which). Either way the Agent has one tool, `time` (computed here, no
 * key needed), and runs its tool loop: the page shows each call and its result as they happen. The
 * mock calls the tool for questions about the time (see {@link exampleScript}).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, tool, type Provider } from 'tokenflow';
import { openai } from 'tokenflow/openai';
import { StreamHub, type StreamHubOptions } from 'tokenflow/sse';
import { startMockProvider, type MockProvider, type MockProviderOptions, type MockRequest, type MockScript } from 'tokenflow/testing';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The mock's answer when no script is given. */
export const MOCK_ANSWER =
  'Streaming puts the first words on screen within a second, while the rest is still being written. ' +
  'People judge speed by the first sign of life, so the same total time feels far shorter. ' +
  'It also lets you stop an answer going the wrong way: stopping here closes the request to the model, ' +
  'so nobody pays for words nobody reads.';

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

/**
 * The mock's script: a question about the time gets a `time` call first (for the zone the question
 * names, else UTC), then, once the request carries the tool's result, an answer quoting it. Any
 * other question gets `answer`. A stand-in for what a real model decides by itself.
 *
 * @param answer - the text for questions that are not about the time
 * @returns a script function for `startMockProvider({ script })`
 */
export function exampleScript(answer: string): (request: MockRequest) => MockScript {
  return (request) => {
    const result = request.toolResults[0];
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
    const messages = Array.isArray(request.body?.messages) ? (request.body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
    const question = messages.filter((m) => m.role === 'user').at(-1)?.content;
    if (typeof question === 'string' && /\btime\b/i.test(question)) {
      const timeZone = ZONE.exec(question)?.[0] ?? 'UTC';
      return { toolCalls: [{ id: 'call_time_1', name: 'time', arguments: ['{"timeZone":', JSON.stringify(timeZone), '}'] }] };
    }
    return { text: answer };
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
   * Use the mock provider with these options (flavor `openai`, profile `openai` unless given),
   * even when OPENAI_API_KEY is set. Without it, the mock is used only when there is no key.
   */
  mock?: Partial<MockProviderOptions>;
  /** @defaultValue 'gpt-4o-mini' */
  model?: string;
  /** Passed to the `StreamHub` (retry delay, replay buffer, grace period, …). */
  hub?: StreamHubOptions;
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

/** A running web example. */
export interface WebExample {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly hub: StreamHub;
  /** The mock provider, when the example uses it. */
  readonly mock: MockProvider | undefined;
  /** Every SSE follow request so far, in arrival order. */
  readonly follows: readonly FollowRequest[];
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

/**
 * Builds the page once with Vite into `outDir` (for serving it without Vite at run time, as the
 * tests do). Resolves to `outDir`.
 */
export async function buildWebExample(outDir: string): Promise<string> {
  const { build } = await import('vite');
  await build({
    configFile: join(here, 'vite.config.ts'),
    logLevel: 'warn',
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

/** Serves a built page: files under `dir`, and index.html for anything else (a single-page app). */
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
    if (!info?.isFile()) file = join(root, 'index.html');
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      // Hashed assets may be cached; index.html must not be.
      'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    createReadStream(file).pipe(res);
  };
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
    mock = await startMockProvider({ flavor: 'openai', profile: 'openai', script: exampleScript(MOCK_ANSWER), ...options.mock });
    // No SDK retries: one question is exactly one upstream request.
    provider = openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 });
    if (!options.mock) log('No OPENAI_API_KEY: using the built-in mock provider.');
  } else {
    provider = openai({ apiKey: env.OPENAI_API_KEY });
    log(`Using OpenAI (${model}).`);
  }
  const agent = new Agent({ provider, model, systemPrompt: 'Answer in one short paragraph. For the current time, call the time tool.' });
  const hub = new StreamHub(options.hub);
  const sse = hub.handler();

  const open = new Set<ServerResponse>();
  const follows: FollowRequest[] = [];
  let page: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  let closeVite: (() => Promise<void>) | undefined;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;

    if (path === '/api/ask') {
      if (req.method !== 'POST') throw new HttpError(405, 'POST a JSON body { prompt }');
      const body = (await readJson(req)) as { prompt?: unknown } | null;
      const prompt = typeof body?.prompt === 'string' ? body.prompt.trim() : '';
      if (prompt === '') throw new HttpError(400, 'prompt must be a non-empty string');
      const channel = randomUUID();
      // The hub subscribes now: the answer is generated once, whoever follows it and whenever.
      // With tools the stream is the whole loop (model → time tool → model): followers get every
      // step, each tool call and its result, then the answer.
      await hub.publish(channel, agent.stream(prompt, { tools: { time: timeTool }, maxSteps: 3 }));
      sendJson(res, 200, { channel });
      return;
    }

    const stream = /^\/api\/streams\/([^/]+)(\/stop)?$/.exec(path);
    if (stream) {
      const channel = decodeURIComponent(stream[1]!);
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
    follows,
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
