/**
 * The fan-out benchmark's server process (spawned by bench/fanout.ts with an IPC channel).
 *
 * Modes:
 * - `hub`: a node:http server serving `hub.handler()`; the channel `bench` is published at start-up
 *   from a synthetic upstream that waits for the driver's `start`. Followers may ask for AG-UI or the
 *   UI message stream (`?format=`), as the driver's `hub-ag-ui` and `hub-ui` modes do.
 * - `floor`: the same GET requests get the SSE headers and the hub's `retry:` prelude; the responses
 *   are kept in an array and every event is a bare `for (const res of responses) res.write(frame)`
 *   of exactly the frames the hub writes (`encodeEvent`, plus `encodeLegacy` with `legacy`).
 *
 * Both modes emit the same upstream: start, N word-ish tokens, usage, done, one event per timer tick
 * (`paceMs`; 0 = back to back, one per `setImmediate`), and record each event's publish time
 * (`performance.timeOrigin + performance.now()`) right before it is handed to the hub or to the loop.
 *
 * IPC (driver → here): { cmd: 'mem' } | { cmd: 'idle', ms } | { cmd: 'start' } | { cmd: 'exit' }.
 * Replies: ready, mem, idle, result (see `send` calls).
 */
import { Agent, createServer, request, type ServerResponse } from 'node:http';
import { Observable, type Subscriber } from 'rxjs';
import type { TokenEvent } from '../src/events.js';
import { encodeEvent, encodeLegacy, SSE_HEADERS } from '../src/sse/encode.js';
import { StreamHub } from '../src/sse/hub.js';
import { aguiHubFormat } from '../src/ag-ui/hub.js';
import { uiMessageStreamHubFormat } from '../src/ai-sdk/hub.js';

export interface HubConfig {
  mode: 'hub' | 'floor';
  tokens: number;
  paceMs: number;
  legacy: boolean;
  /** Report per-frame byte overhead (wire measurement only; costs CPU). */
  wire: boolean;
  /** The followers' `?format=` query (`''` for tokenflow's SSE): the warm-up answer uses it too. */
  query?: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as HubConfig;
const CHANNEL = 'bench';
const RETRY_MS = 1_000;
const LEGACY = { agentId: 'agent-7', conversationId: 'conv-42' } as const;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const now = (): number => performance.timeOrigin + performance.now();

function send(message: unknown): void {
  process.send!(message);
}

/** Deterministic word-ish token texts, 4-6 bytes each (leading space), a little punctuation. */
export function tokenTexts(n: number): string[] {
  const words = ['the', 'model', 'token', 'stream', 'answer', 'data', 'light', 'river', 'point', 'code', 'value', 'fast', 'each',
    'with', 'from', 'over', 'into', 'which', 'state', 'event', 'order', 'time', 'first', 'level', 'world', 'small', 'query'];
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.05) out.push(',');
    else if (r < 0.08) out.push('.\n\n');
    else out.push(` ${words[Math.floor(rand() * words.length)]!}`);
  }
  return out;
}

const texts = tokenTexts(cfg.tokens);
/** Publish time of each event id. */
const publishedAt: number[] = [];
let startTime = 0;
let frameOverheadMin = Infinity;
let frameOverheadMax = 0;
let answer = '';

/**
 * Emits the upstream events at the configured pace; `emit` returns after handing each over.
 * `record: false` is the warm-up answer (nothing recorded).
 */
function runUpstream(emit: (event: TokenEvent) => void, record = true, paceMs = cfg.paceMs): void {
  const t0 = performance.now();
  const t = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
  let i = -1;
  const step = (): void => {
    let event: TokenEvent;
    if (i === -1) event = { type: 'start', provider: 'bench', model: 'bench-model', id: 'msg_01bench', t: t() };
    else if (i < texts.length) event = { type: 'token', text: texts[i]!, index: i, t: t() };
    else if (i === texts.length) event = { type: 'usage', usage: { inputTokens: 42, outputTokens: texts.length, estimated: false }, t: t() };
    else event = { type: 'done', stopReason: 'end', t: t() };
    if (record && cfg.wire) {
      const id = publishedAt.length;
      const frameBytes = Buffer.byteLength(encodeEvent(event, id));
      if (event.type === 'token') {
        const own = Buffer.byteLength(event.text);
        answer += event.text;
        frameOverheadMin = Math.min(frameOverheadMin, frameBytes - own);
        frameOverheadMax = Math.max(frameOverheadMax, frameBytes - own);
      }
    }
    if (record) publishedAt.push(now());
    emit(event);
    i++;
    if (i <= texts.length + 1) {
      if (paceMs > 0) setTimeout(step, paceMs);
      else setImmediate(step);
    }
  };
  step();
}

// ---- end-of-run detection, the same for both modes: every response finished (or closed) ----
let expected = -1;
let ended = 0;
let connections = 0;
let onAllEnded: (() => void) | undefined;
function track(res: ServerResponse): void {
  connections++;
  let done = false;
  const end = (): void => {
    if (done) return;
    done = true;
    ended++;
    if (ended === expected) onAllEnded?.();
  };
  res.once('finish', end);
  res.once('close', end);
}

let startUpstream: (() => void) | undefined;
let startWarmup: (() => void) | undefined;
const responses: ServerResponse[] = [];
const warmResponses: ServerResponse[] = [];
const WARM_PATH = '/streams/warm';
let hub: StreamHub | undefined;

const server = createServer();
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
server.headersTimeout = 0;

if (cfg.mode === 'hub') {
  hub = new StreamHub({ graceMs: Infinity, heartbeatMs: 0, ...(cfg.wire ? { maxBufferedBytes: 1 << 30 } : {}) });
  const upstream$ = new Observable<TokenEvent>((subscriber: Subscriber<TokenEvent>) => {
    startUpstream = () => runUpstream((event) => subscriber.next(event));
  });
  await hub.publish(CHANNEL, upstream$, cfg.legacy ? { legacy: LEGACY } : {});
  const warm$ = new Observable<TokenEvent>((subscriber: Subscriber<TokenEvent>) => {
    startWarmup = () => runUpstream((event) => subscriber.next(event), false, 0);
  });
  await hub.publish('warm', warm$, cfg.legacy ? { legacy: LEGACY } : {});
  // Followers pick tokenflow's SSE or a protocol with ?format= (the driver's hub-ag-ui / hub-ui modes).
  const handle = hub.handler({ formats: [aguiHubFormat(), uiMessageStreamHubFormat()] });
  server.on('request', (req, res) => {
    if (!req.url?.startsWith(WARM_PATH)) track(res);
    void handle(req, res);
  });
} else {
  const floorEmitter = (targets: ServerResponse[]): ((event: TokenEvent) => void) => {
    let text = '';
    let nextId = 0;
    return (event) => {
      let frame = encodeEvent(event, nextId++);
      if (cfg.legacy && event.type === 'token') {
        text += event.text;
        frame += encodeLegacy(event.text, text, LEGACY);
      }
      for (const res of targets) res.write(frame);
      if (event.type === 'done') for (const res of targets) res.end();
    };
  };
  startUpstream = () => runUpstream(floorEmitter(responses));
  startWarmup = () => runUpstream(floorEmitter(warmResponses), false, 0);
  server.on('request', (req, res) => {
    const warm = req.url === WARM_PATH;
    if (!warm) track(res);
    res.writeHead(200, { ...SSE_HEADERS });
    res.write(`retry: ${RETRY_MS}\n\n`);
    (warm ? warmResponses : responses).push(res);
  });
}

/**
 * Warm-up, before anything is measured: one answer (the same token count, back to back) to
 * WARM_CONNECTIONS in-process followers (1 for the wire measurement), so the measured run does not pay for JIT compilation of the
 * server's write path (each run is a fresh process).
 */
const WARM_CONNECTIONS = cfg.wire ? 1 : 20;
async function warmUp(port: number): Promise<void> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const ended: Promise<void>[] = [];
  const heads: Promise<void>[] = [];
  for (let i = 0; i < WARM_CONNECTIONS; i++) {
    heads.push(
      new Promise<void>((resolveHead, reject) => {
        // In the measured followers' format, so the run does not pay for compiling its encoder.
        const req = request({ host: '127.0.0.1', port, path: `${WARM_PATH}${cfg.mode === 'hub' ? (cfg.query ?? '') : ''}`, agent }, (res) => {
          resolveHead();
          ended.push(new Promise<void>((resolveEnd) => res.on('end', resolveEnd).resume()));
        });
        req.on('error', reject);
        req.end();
      }),
    );
  }
  await Promise.all(heads);
  startWarmup!();
  await new Promise((r) => setTimeout(r, 10));
  await Promise.all(ended);
  agent.destroy();
  await new Promise((r) => setTimeout(r, 50));
}

server.listen({ port: 0, host: '127.0.0.1', backlog: 8192 }, () => {
  const address = server.address() as { port: number };
  void warmUp(address.port).then(() => {
    gc();
    gc();
    send({ type: 'ready', port: address.port, mem: process.memoryUsage() });
  });
});

process.on('message', (message: { cmd: string; ms?: number; expected?: number }) => {
  if (message.cmd === 'mem') {
    gc();
    gc();
    send({ type: 'mem', mem: process.memoryUsage(), connections });
  } else if (message.cmd === 'idle') {
    const before = process.cpuUsage();
    const t0 = performance.now();
    setTimeout(() => {
      const used = process.cpuUsage(before);
      send({ type: 'idle', cpuUs: used.user + used.system, ms: performance.now() - t0 });
    }, message.ms ?? 300);
  } else if (message.cmd === 'start') {
    expected = message.expected ?? connections;
    const before = process.cpuUsage();
    const t0 = performance.now();
    startTime = now();
    onAllEnded = () => {
      const used = process.cpuUsage(before);
      const wallMs = performance.now() - t0;
      const mem = process.memoryUsage();
      send({
        type: 'result',
        cpuUs: used.user + used.system,
        userUs: used.user,
        systemUs: used.system,
        wallMs,
        startTime,
        publishedAt,
        events: publishedAt.length,
        connections,
        ended,
        memAtEnd: mem,
        ...(cfg.wire
          ? { answerBytes: Buffer.byteLength(answer), frameOverheadMin, frameOverheadMax, tokens: texts.length }
          : {}),
      });
    };
    startUpstream!();
  } else if (message.cmd === 'exit') {
    server.close();
    void hub?.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
