/**
 * A server process of the Redis benchmark (spawned by bench/redis/index.ts with an IPC channel).
 *
 * Roles:
 * - `tf-pub`: tokenflow `RedisStreamHub`, publishes N channels (no HTTP);
 * - `tf-follow`: tokenflow `RedisStreamHub` serving `hub.handler()` over HTTP (GET /streams/<channel>);
 * - `mem`: the in-memory `StreamHub`: publishes N channels and serves them over HTTP, one process;
 * - `rs-prod`: resumable-stream producer: `resumableStream(id, makeStream)` for N streams, each
 *   drained here (as a Next.js route would return it to its own client);
 * - `rs-cons`: resumable-stream consumer: GET /rs/<id> calls `resumeExistingStream(id)` and pipes
 *   the text to the client as chunked `text/plain`.
 *
 * Every producer emits, per channel, `tokens` tokens 20 ms apart (50 tokens/s) on a fixed schedule
 * (channel i starts at i mod 20 ms, so the channels are spread over each 20 ms period; the next
 * tick is timed from the schedule, not from the previous callback, so the rate does not drift).
 * A token's text is its emit time (`performance.timeOrigin + performance.now()`, ms, 3 decimals)
 * followed by `;`, taken right before the token is handed to the library.
 *
 * IPC (driver → here): { cmd: 'start' } (producers) | { cmd: 'stats' } | { cmd: 'exit' }.
 * Replies: ready { port? }, finished (producers: every channel emitted its last event), stats.
 */
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { createResumableStreamContext, type ResumableStreamContext } from 'resumable-stream/ioredis';
import { Observable, type Subscriber } from 'rxjs';
import type { TokenEvent } from '../../src/events.js';
import { RedisStreamHub } from '../../src/redis/hub.js';
import { readerSettings } from '../../src/redis/reader.js';
import { StreamHub } from '../../src/sse/hub.js';

export type Role = 'tf-pub' | 'tf-follow' | 'mem' | 'rs-prod' | 'rs-cons';

export interface ServerConfig {
  role: Role;
  redisUrl: string;
  n: number;
  tokens: number;
  /** Channel / stream id prefix (unique per run). */
  prefix: string;
  /** tokenflow hubs' write window (`batchMs`), 0 by default. */
  batchMs?: number;
  /** tokenflow followers read every channel from its stream (no live delivery): the design before it. */
  streamsOnly?: boolean;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
if (cfg.streamsOnly) readerSettings.live = false;
const now = (): number => performance.timeOrigin + performance.now();
const PERIOD_MS = 20;
const send = (message: unknown): void => void process.send!(message);

/** One channel's producer side: `tick(k)` emits token k (k < tokens) or ends the stream (k = tokens). */
interface Emitter {
  begin(): void;
  tick(k: number): void;
}

const emitters: Emitter[] = [];
let finishedChannels = 0;
let cpuAtStart: NodeJS.CpuUsage | undefined;
let startedAt = 0;
let lateTicks = 0;
let maxLateMs = 0;

function channelFinished(): void {
  finishedChannels++;
  if (finishedChannels === emitters.length) send({ type: 'finished', wallMs: performance.now() - startedAt, lateTicks, maxLateMs });
}

/** 20 slot timers, each driving the channels i ≡ slot (mod 20), on an absolute schedule. */
function runSchedule(): void {
  const t0 = performance.now() + 20;
  startedAt = t0;
  const slots = Math.min(PERIOD_MS, emitters.length);
  for (let slot = 0; slot < slots; slot++) {
    const mine = emitters.filter((_, i) => i % PERIOD_MS === slot);
    let k = 0;
    const run = (): void => {
      const late = performance.now() - (t0 + slot + k * PERIOD_MS);
      if (late > 5) lateTicks++;
      if (late > maxLateMs) maxLateMs = late;
      if (k === 0) for (const e of mine) e.begin();
      for (const e of mine) e.tick(k);
      k++;
      if (k <= cfg.tokens) setTimeout(run, Math.max(0, t0 + slot + k * PERIOD_MS - performance.now()));
    };
    setTimeout(run, Math.max(0, t0 + slot - performance.now()));
  }
}

/** A tokenflow upstream: start, `tokens` tokens, usage, done. */
function tokenflowUpstream(): { stream$: Observable<TokenEvent>; emitter: Emitter } {
  let sub: Subscriber<TokenEvent> | undefined;
  let t0 = 0;
  const t = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
  const stream$ = new Observable<TokenEvent>((subscriber) => {
    sub = subscriber;
  });
  const emitter: Emitter = {
    begin() {
      t0 = performance.now();
      sub!.next({ type: 'start', provider: 'bench', model: 'bench-model', t: 0 });
    },
    tick(k) {
      if (k < cfg.tokens) {
        sub!.next({ type: 'token', text: `${now().toFixed(3)};`, index: k, t: t() });
      } else {
        sub!.next({ type: 'usage', usage: { inputTokens: 10, outputTokens: cfg.tokens, estimated: false }, t: t() });
        sub!.next({ type: 'done', stopReason: 'end', t: t() });
        sub!.complete();
        channelFinished();
      }
    },
  };
  return { stream$, emitter };
}

let hub: StreamHub | undefined;
let server: Server | undefined;
let rsClients: Redis[] = [];
let rsContext: ResumableStreamContext | undefined;
let rsDrained = 0;
let rsServed = 0;
let rsErrors: string[] = [];

/**
 * tokenflow's Redis option: the URL (default). REDIS_BENCH_TF_AUTOPIPELINE=1 (an experiment, not
 * part of the reported runs) passes an ioredis client with `enableAutoPipelining`, which the log's
 * own connections inherit (it duplicates the client).
 */
function tfRedis(): string | Redis {
  if (process.env.REDIS_BENCH_TF_AUTOPIPELINE !== '1') return cfg.redisUrl;
  const client = new Redis(cfg.redisUrl, { enableAutoPipelining: true });
  rsClients.push(client);
  return client;
}

function listen(s: Server): Promise<number> {
  s.keepAliveTimeout = 0;
  s.requestTimeout = 0;
  s.headersTimeout = 0;
  return new Promise((resolve) => s.listen({ port: 0, host: '127.0.0.1', backlog: 8192 }, () => resolve((s.address() as { port: number }).port)));
}

async function setup(): Promise<number | undefined> {
  const ids = Array.from({ length: cfg.n }, (_, i) => `${cfg.prefix}-${i}`);
  switch (cfg.role) {
    case 'tf-pub':
    case 'mem': {
      hub = cfg.role === 'mem' ? new StreamHub() : new RedisStreamHub({ redis: tfRedis(), batchMs: cfg.batchMs ?? 0 });
      for (const id of ids) {
        const { stream$, emitter } = tokenflowUpstream();
        emitters.push(emitter);
        await hub.publish(id, stream$);
      }
      if (cfg.role === 'tf-pub') return undefined;
      server = createServer(hub.handler());
      return listen(server);
    }
    case 'tf-follow': {
      hub = new RedisStreamHub({ redis: tfRedis(), batchMs: cfg.batchMs ?? 0 });
      server = createServer(hub.handler());
      return listen(server);
    }
    case 'rs-prod': {
      // The package's documented setup: one publisher and one subscriber connection per process.
      const publisher = new Redis(cfg.redisUrl);
      const subscriber = new Redis(cfg.redisUrl);
      rsClients = [publisher, subscriber];
      rsContext = createResumableStreamContext({ waitUntil: null, publisher, subscriber, keyPrefix: 'bench' });
      for (const id of ids) {
        let controller!: ReadableStreamDefaultController<string>;
        const source = new ReadableStream<string>({ start: (c) => void (controller = c) });
        emitters.push({
          begin() {},
          tick(k) {
            if (k < cfg.tokens) controller.enqueue(`${now().toFixed(3)};`);
            else {
              controller.close();
              channelFinished();
            }
          },
        });
        const stream = await rsContext.resumableStream(id, () => source);
        if (!stream) throw new Error(`resumableStream(${id}) returned null`);
        // Drive it as a route handler would: read it to the end (here nobody else wants the text).
        void (async () => {
          const reader = stream.getReader();
          for (;;) {
            const { done } = await reader.read();
            if (done) break;
          }
          rsDrained++;
        })().catch((e: unknown) => rsErrors.push(String(e)));
      }
      return undefined;
    }
    case 'rs-cons': {
      const publisher = new Redis(cfg.redisUrl);
      const subscriber = new Redis(cfg.redisUrl);
      rsClients = [publisher, subscriber];
      rsContext = createResumableStreamContext({ waitUntil: null, publisher, subscriber, keyPrefix: 'bench' });
      const ctx = rsContext;
      server = createServer((req, res) => {
        const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
        void (async () => {
          const stream = await ctx.resumeExistingStream(id);
          if (!stream) {
            res.writeHead(404).end();
            return;
          }
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
          res.flushHeaders();
          const reader = stream.getReader();
          res.on('close', () => void reader.cancel().catch(() => {}));
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (value) res.write(value);
          }
          res.end();
          rsServed++;
        })().catch((e: unknown) => {
          rsErrors.push(String(e));
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy();
        });
      });
      return listen(server);
    }
  }
}

const port = await setup();
send({ type: 'ready', port });

process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'start') {
    cpuAtStart = process.cpuUsage();
    runSchedule();
  } else if (message.cmd === 'stats') {
    const cpu = process.cpuUsage(cpuAtStart);
    send({
      type: 'stats',
      cpuUs: cpu.user + cpu.system,
      logStats: hub instanceof RedisStreamHub ? { ...hub.log.stats } : undefined,
      rs: cfg.role.startsWith('rs') ? { drained: rsDrained, served: rsServed, errors: [...new Set(rsErrors)].slice(0, 3) } : undefined,
      rss: process.memoryUsage().rss,
    });
  } else if (message.cmd === 'exit') {
    server?.close();
    for (const c of rsClients) c.disconnect();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
