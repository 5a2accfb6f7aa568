/**
 * The fan-out benchmark's server process (spawned by bench/fanout.ts with an IPC channel).
 *
 * Modes:
 * - `hub`: a node:http server serving `hub.handler()`; the channel `bench` is published at start-up
 *   from a synthetic upstream that waits for the driver's `start`. Followers may ask for AG-UI or the
 *   UI message stream (`?format=`), as the driver's `hub-ag-ui` and `hub-ui` modes do.
 * - `floor`: the same GET requests get the SSE headers and the hub's `retry:` prelude; the responses
 *   are kept in an array and the events of each hand-over are a bare
 *   `for (const res of responses) res.write(frames)` of exactly the frames the hub writes
 *   (`encodeEvent`, plus `encodeLegacy` with `legacy`), joined.
 * - `raw`: the response head written on the socket by hand, then each hand-over one `socket.write`
 *   of one Buffer shared by every follower (the driver's `floor-raw`).
 *
 * Every mode emits the same upstream: start, N word-ish tokens, usage, done, one event due every
 * `paceMs` (every event due by a timer tick is handed over in that tick; 0 = back to back, one per
 * `setImmediate`), and record each event's publish time (`performance.timeOrigin`-based): when it
 * was due, or, back to back, when it is handed to the hub or to the loop (see `runUpstream`).
 *
 * IPC (driver → here): { cmd: 'mem' } | { cmd: 'idle', ms } | { cmd: 'start' } | { cmd: 'exit' }.
 * Replies: ready, mem, idle, result (see `send` calls).
 */
import { Agent, createServer, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Observable, type Subscriber } from 'rxjs';
import type { TokenEvent } from '../src/events.js';
import { encodeEvent, encodeLegacy, SSE_HEADERS } from '../src/sse/encode.js';
import { StreamHub } from '../src/sse/hub.js';
import { aguiHubFormat } from '../src/ag-ui/hub.js';
import { uiMessageStreamHubFormat } from '../src/ai-sdk/hub.js';

export interface HubConfig {
  mode: 'hub' | 'floor' | 'raw';
  tokens: number;
  paceMs: number;
  /** Every how many followers one has its writes timed (the server-side latency sample). */
  sampleEvery?: number;
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
 * Emits the upstream events at the configured pace; `emit` returns after handing them over.
 * `record: false` is the warm-up answer (nothing recorded).
 *
 * With a pace, event k is due `k × paceMs` after the start, as a provider sends it whatever this
 * server is doing: a step hands over every event due by then, at once (after a busy pass over the
 * sockets, a real upstream's socket holds the tokens that came meanwhile, and one read brings them
 * all). Each event's recorded publish time is when it was due, so a client's latency includes the
 * time the event waited for the server, not only the write after it. Without a pace (0), one event
 * per `setImmediate`, its publish time when it is handed over.
 */
function runUpstream(emit: (events: TokenEvent[]) => void, record = true, paceMs = cfg.paceMs): void {
  const t0 = performance.now();
  const t = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
  const last = texts.length + 1;
  let i = -1;
  const next = (): TokenEvent => {
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
    // When event i was due: its position in the schedule, or now without one.
    if (record) publishedAt.push(paceMs > 0 ? performance.timeOrigin + t0 + (i + 1) * paceMs : now());
    i++;
    return event;
  };
  const dueAt = (k: number): number => t0 + (k + 1) * paceMs;
  const step = (): void => {
    const batch: TokenEvent[] = [];
    if (paceMs === 0) batch.push(next());
    // A timer may fire a little before the due time (the event loop's clock is cached): then it waits again.
    else while (i <= last && dueAt(i) <= performance.now()) batch.push(next());
    if (batch.length > 0) emit(batch);
    if (i <= last) {
      if (paceMs > 0) setTimeout(step, Math.max(1, dueAt(i) - performance.now()));
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
/** Per sampled follower: pairs of (the last event id a write carried, when it was written). */
const sampledWrites: number[][] = [];

/** The last `id:` line's number in a chunk of SSE frames, or -1 (a prelude, a heartbeat). */
function lastIdIn(chunk: unknown): number {
  const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1') : '';
  let at = text.lastIndexOf('\nid: ');
  if (at >= 0) at += 5;
  else if (text.startsWith('id: ')) at = 4;
  else return -1;
  const end = text.indexOf('\n', at);
  const id = Number(text.slice(at, end < 0 ? undefined : end));
  return Number.isInteger(id) ? id : -1;
}

/**
 * Times the writes of one follower in `sampleEvery`: when each batch of frames was handed to its
 * socket. Against the events' due times that is the server's own part of the latency (its passes
 * over the sockets), apart from the clients', which share the machine's cores.
 */
function sampleWrites(target: ServerResponse | Socket): void {
  const writes: number[] = [];
  sampledWrites.push(writes);
  const write = target.write as (...args: unknown[]) => boolean;
  target.write = function timedWrite(this: unknown, chunk: unknown, ...rest: unknown[]) {
    const id = lastIdIn(chunk);
    if (id >= 0) writes.push(id, now());
    return write.call(this, chunk, ...rest);
  } as typeof target.write;
}

/** Counts a follower's connection and its end (`finish` or `close` of its response, or of its socket in `raw`). */
function track(res: ServerResponse | Socket): void {
  if (connections % (cfg.sampleEvery ?? 1) === 0) sampleWrites(res);
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
    startUpstream = () => runUpstream((events) => events.forEach((event) => subscriber.next(event)));
  });
  await hub.publish(CHANNEL, upstream$, cfg.legacy ? { legacy: LEGACY } : {});
  const warm$ = new Observable<TokenEvent>((subscriber: Subscriber<TokenEvent>) => {
    startWarmup = () => runUpstream((events) => events.forEach((event) => subscriber.next(event)), false, 0);
  });
  await hub.publish('warm', warm$, cfg.legacy ? { legacy: LEGACY } : {});
  // Followers pick tokenflow's SSE or a protocol with ?format= (the driver's hub-ag-ui / hub-ui modes).
  const handle = hub.handler({ formats: [aguiHubFormat(), uiMessageStreamHubFormat()] });
  server.on('request', (req, res) => {
    if (!req.url?.startsWith(WARM_PATH)) track(res);
    void handle(req, res);
  });
} else if (cfg.mode === 'raw') {
  // What a server could do at the least: the response head written by hand (the body ends with the
  // connection, so no chunk framing), then each batch one `socket.write` of one Buffer shared by every
  // follower: one write syscall per follower per batch, no per-follower encoding or framing.
  const head = `HTTP/1.1 200 OK\r\n${Object.entries({ ...SSE_HEADERS, connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\nretry: ${RETRY_MS}\n\n`;
  const sockets: Socket[] = [];
  const warmSockets: Socket[] = [];
  const rawEmitter = (targets: Socket[]): ((events: TokenEvent[]) => void) => {
    let nextId = 0;
    return (events) => {
      let frames = '';
      for (const event of events) frames += encodeEvent(event, nextId++);
      const bytes = Buffer.from(frames);
      for (const socket of targets) socket.write(bytes);
      if (events.at(-1)?.type === 'done') for (const socket of targets) socket.end();
    };
  };
  startUpstream = () => runUpstream(rawEmitter(sockets));
  startWarmup = () => runUpstream(rawEmitter(warmSockets), false, 0);
  server.on('request', (req, res) => {
    const warm = req.url === WARM_PATH;
    const socket = res.socket!;
    if (!warm) track(socket);
    socket.write(head);
    (warm ? warmSockets : sockets).push(socket);
  });
} else {
  // Events handed over together go out as one write per response, as the hub batches them.
  const floorEmitter = (targets: ServerResponse[]): ((events: TokenEvent[]) => void) => {
    let text = '';
    let nextId = 0;
    return (events) => {
      let frames = '';
      for (const event of events) {
        frames += encodeEvent(event, nextId++);
        if (cfg.legacy && event.type === 'token') {
          text += event.text;
          frames += encodeLegacy(event.text, text, LEGACY);
        }
      }
      for (const res of targets) res.write(frames);
      if (events.at(-1)?.type === 'done') for (const res of targets) res.end();
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
        sampledWrites,
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
