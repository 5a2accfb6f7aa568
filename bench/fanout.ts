/**
 * The SSE fan-out benchmark (run from bench/index.ts: `npm run bench -- --suite fanout`).
 *
 * One answer fanned out to N SSE subscribers over loopback. The hub (bench/fanout-hub.ts) and the
 * subscribers (bench/fanout-client.ts, K processes sharing the N connections) run in separate
 * processes. Each size runs `rounds` times alternating `hub` (StreamHub.handler()) and `floor` (a
 * bare loop of `res.write` of the same frames to the same kind of sockets, one write per follower
 * per hand-over), with `raw` also `floor-raw` (one `socket.write` of one shared Buffer), each run in
 * fresh processes. Reported per size and mode (medians over rounds):
 * - hub CPU µs per delivered event: process.cpuUsage() of the server process from the first
 *   published event to the last response finished, minus the idle rate measured just before for
 *   the same duration, divided by (events × subscribers that received them);
 * - latency p50 / p99 from when the event was due (server clock) to the client's parse of that
 *   event id, over a sample of connections in every client process;
 * - server latency p50 / p99: from when the event was due to the write that carried it, on about
 *   `SERVER_SAMPLES` followers timed in the server (and per event id in bench/out/fanout.json);
 * - the server's and the clients' CPU (printed per run: the clients share the cores);
 * - memory per subscriber: (server RSS and heap after all subscribed − before any) / N, after gc;
 * - held: subscribers that received every event and `done`.
 * Then the wire bytes of one 2,000-token answer to one subscriber: deltas vs the legacy
 * `answer_streaming` payload, against the answer's own UTF-8 bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Child } from './child.js';

export interface FanoutOptions {
  sizes: number[];
  tokens: number;
  rounds: number;
  paceMs: number;
  clients: number;
  wireTokens: number;
  /** Connections each client process opens at once. */
  batch: number;
  /** Sampled connections per client process for latency. */
  samples: number;
  /** Also run followers in the AG-UI and UI message stream formats (issue 19's encoding cost). */
  formats?: boolean;
  /**
   * Also run `floor-raw`: the response head by hand and each batch one `socket.write` of one shared
   * Buffer, the least a server can do per follower (what skipping `ServerResponse` would buy).
   */
  raw?: boolean;
  /**
   * Pin the server process to CPU 0 and the client processes to the other CPUs (`taskset`, Linux):
   * the server's own latency with a core to itself, apart from the load generator's.
   */
  pin?: boolean;
}

type Mode = 'hub' | 'floor' | 'hub-ag-ui' | 'hub-ui' | 'floor-raw';

/** The query a mode's followers add: a hub format, or nothing (tokenflow's SSE). */
const MODE_QUERY: Record<Mode, string> = { hub: '', floor: '', 'floor-raw': '', 'hub-ag-ui': '?format=ag-ui', 'hub-ui': '?format=ui-message-stream' };
const isFormat = (mode: Mode): boolean => mode === 'hub-ag-ui' || mode === 'hub-ui';
type Mem = NodeJS.MemoryUsage;

const HUB = new URL('./fanout-hub.ts', import.meta.url).pathname;
/** Extra node flags for the server process, e.g. FANOUT_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const HUB_NODE_ARGS = (process.env.FANOUT_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
const CLIENT = new URL('./fanout-client.ts', import.meta.url).pathname;

interface RunResult {
  mode: Mode;
  n: number;
  cpuUs: number;
  /** Of `cpuUs`, the kernel's (on loopback, a write also runs the receiving side's TCP work). */
  systemUs: number;
  idleUs: number;
  cpuUsPerEvent: number;
  wallMs: number;
  connectMs: number;
  p50: number;
  p99: number;
  max: number;
  latencySamples: number;
  /** Due → written to the socket, on the server (see `serverLatencies`). */
  serverP50: number;
  serverP99: number;
  /** CPU of every client process from the end of the connect phase (the load generator's share of the cores). */
  clientCpuUs: number;
  /** The server latency's p99 over the sampled followers, for each event id (where the tail comes from). */
  serverP99ByEvent: number[];
  rssPerSub: number;
  heapPerSub: number;
  externalPerSub: number;
  held: number;
  delivered: number;
  events: number;
  wire?: { bodyBytes: number; socketBytes: number; answerBytes: number; frameOverheadMin: number; frameOverheadMax: number; tokens: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** About how many followers have their writes timed in the server (see `serverLatencies`). */
const SERVER_SAMPLES = 200;

/**
 * The server's own latency: for each sampled follower and event, from when the event was due to
 * when the write that carried it was handed to the socket (a write carries every id after the
 * previous write's last one).
 */
function serverLatencies(sampledWrites: number[][], published: number[]): { all: number[]; byEvent: number[][] } {
  const all: number[] = [];
  const byEvent: number[][] = published.map(() => []);
  for (const writes of sampledWrites) {
    let prev = -1;
    for (let k = 0; k < writes.length; k += 2) {
      const last = writes[k]!;
      for (let id = prev + 1; id <= last; id++) {
        if (published[id] === undefined) continue;
        const latency = writes[k + 1]! - published[id]!;
        all.push(latency);
        byEvent[id]!.push(latency);
      }
      if (last > prev) prev = last;
    }
  }
  return { all: all.sort((a, b) => a - b), byEvent };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One run: fresh server and client processes, N connections, one answer. */
async function runOnce(
  mode: Mode,
  n: number,
  o: { tokens: number; paceMs: number; clients: number; batch: number; samples: number; legacy?: boolean; wire?: boolean; pin?: boolean },
): Promise<RunResult> {
  const expectedEvents = o.tokens + 3;
  const server = new Child(
    HUB,
    {
      mode: mode === 'floor' ? 'floor' : mode === 'floor-raw' ? 'raw' : 'hub',
      tokens: o.tokens,
      paceMs: o.paceMs,
      legacy: o.legacy ?? false,
      wire: o.wire ?? false,
      query: MODE_QUERY[mode],
      sampleEvery: Math.max(1, Math.floor(n / SERVER_SAMPLES)),
    },
    ['--expose-gc', ...HUB_NODE_ARGS],
  );
  const clients: Child[] = [];
  const timeout = 120_000 + n * 20;
  try {
    const cpus = availableParallelism();
    if (o.pin && cpus < 2) throw new Error('fanout --fanout-pin needs at least 2 CPUs');
    if (o.pin) server.pin('0');
    const ready = await server.next<{ port: number; mem: Mem }>('ready', 60_000);
    const k = Math.max(1, Math.min(o.clients, n));
    const t0 = performance.now();
    for (let i = 0; i < k; i++) {
      const count = Math.floor(n / k) + (i < n % k ? 1 : 0);
      clients.push(
        new Child(CLIENT, { port: ready.port, path: `/streams/bench${MODE_QUERY[mode]}`, count, samples: o.samples, batch: o.batch, expectedEvents: isFormat(mode) ? 0 : expectedEvents }),
      );
      if (o.pin) clients[i]!.pin(`1-${cpus - 1}`);
    }
    const connected = await Promise.all(clients.map((c) => c.next<{ connected: number; failed: number }>('connected', timeout)));
    const connectMs = performance.now() - t0;
    const totalConnected = connected.reduce((s, c) => s + c.connected, 0);
    await sleep(200);
    server.send({ cmd: 'mem' });
    const after = await server.next<{ mem: Mem; connections: number }>('mem', 60_000);
    server.send({ cmd: 'idle', ms: 300 });
    const idle = await server.next<{ cpuUs: number; ms: number }>('idle', 60_000);
    server.send({ cmd: 'start', expected: after.connections });
    const resultP = server.next<any>('result', timeout);
    const clientResults = await Promise.all(clients.map((c) => c.next<any>('result', timeout)));
    const result = await resultP;

    const idleUs = (idle.cpuUs / idle.ms) * result.wallMs;
    const held = clientResults.reduce((s, r) => s + r.held, 0);
    // Per delivered event of the channel: a format's messages per event vary, so count the channel's events.
    const delivered = isFormat(mode) ? held * expectedEvents : clientResults.reduce((s, r) => s + r.totalEvents, 0);
    const cpuNet = Math.max(0, result.cpuUs - idleUs);
    const lat: number[] = [];
    const published = result.publishedAt as number[];
    for (const r of clientResults) {
      for (const arrivals of r.arrivals as (number | null)[][]) {
        for (let id = 0; id < arrivals.length; id++) {
          const a = arrivals[id];
          if (typeof a === 'number' && published[id] !== undefined) lat.push(a - published[id]!);
        }
      }
    }
    lat.sort((a, b) => a - b);
    const serverSide = serverLatencies(result.sampledWrites as number[][], published);
    const serverLat = serverSide.all;
    const errors = clientResults.flatMap((r) => r.errors as string[]);
    if (errors.length > 0) console.error(`  ${mode} n=${n}: client errors: ${[...new Set(errors)].slice(0, 3).join('; ')}`);
    if (totalConnected < n) console.error(`  ${mode} n=${n}: only ${totalConnected} of ${n} connected`);
    const run: RunResult = {
      mode,
      n,
      cpuUs: result.cpuUs,
      systemUs: result.systemUs,
      idleUs,
      cpuUsPerEvent: cpuNet / Math.max(1, delivered),
      wallMs: result.wallMs,
      connectMs,
      p50: percentile(lat, 0.5),
      p99: percentile(lat, 0.99),
      max: lat[lat.length - 1] ?? NaN,
      latencySamples: lat.length,
      serverP50: percentile(serverLat, 0.5),
      serverP99: percentile(serverLat, 0.99),
      clientCpuUs: clientResults.reduce((sum, r) => sum + (r.cpuUs ?? 0), 0),
      serverP99ByEvent: serverSide.byEvent.map((l) => Math.round(percentile(l.sort((a, b) => a - b), 0.99) * 10) / 10),
      rssPerSub: (after.mem.rss - ready.mem.rss) / n,
      heapPerSub: (after.mem.heapUsed - ready.mem.heapUsed) / n,
      externalPerSub: (after.mem.external + after.mem.arrayBuffers - ready.mem.external - ready.mem.arrayBuffers) / n,
      held,
      delivered,
      events: expectedEvents,
    };
    if (o.wire) {
      run.wire = {
        bodyBytes: clientResults[0].first.bodyBytes,
        socketBytes: clientResults[0].first.socketBytes,
        answerBytes: result.answerBytes,
        frameOverheadMin: result.frameOverheadMin,
        frameOverheadMax: result.frameOverheadMax,
        tokens: result.tokens,
      };
    }
    return run;
  } finally {
    server.send({ cmd: 'exit' });
    await sleep(HUB_NODE_ARGS.length > 0 ? 2000 : 100);
    server.kill();
    for (const c of clients) c.kill();
    // Let the sockets of this run close before the next one opens thousands more.
    await sleep(n >= 1000 ? 1500 : 200);
  }
}

const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

export async function runFanout(options: FanoutOptions): Promise<void> {
  const { sizes, tokens, rounds, paceMs, clients, batch, samples } = options;
  console.log(
    `\nSSE fan-out: ${tokens}-token answer (${tokens + 3} events, one per ${paceMs} ms tick), ${rounds} rounds alternating hub/floor, ` +
      `up to ${clients} client processes, Node ${process.version}\n`,
  );
  const runs: RunResult[] = [];
  interface Row {
    n: number;
    mode: Mode;
    cpuUsPerEvent: number;
    ratio: number;
    /** × the hub's own SSE (a format's encoding cost). */
    vsHub: number;
    p50: number;
    p99: number;
    serverP50: number;
    serverP99: number;
    rssPerSubKiB: number;
    heapPerSubKiB: number;
    held: string;
    wallMs: number;
    connectMs: number;
  }
  const rows: Row[] = [];
  for (const n of sizes) {
    const byMode: Record<Mode, RunResult[]> = { hub: [], floor: [], 'floor-raw': [], 'hub-ag-ui': [], 'hub-ui': [] };
    const modes: Mode[] = ['hub', 'floor'];
    if (options.raw) modes.push('floor-raw');
    if (options.formats) modes.push('hub-ag-ui', 'hub-ui');
    for (let round = 0; round < rounds; round++) {
      // Rotated every round, so no mode always runs first (or after the same one).
      const order = modes.map((_, i) => modes[(i + round) % modes.length]!);
      for (const mode of order) {
        const run = await runOnce(mode, n, { tokens, paceMs, clients, batch, samples, pin: options.pin ?? false });
        runs.push(run);
        byMode[mode].push(run);
        console.error(
          `  n=${n} round ${round + 1} ${mode}: ${fmt(run.cpuUsPerEvent, 2)} µs/event, p50 ${fmt(run.p50)} ms, p99 ${fmt(run.p99)} ms (server p50 ${fmt(run.serverP50)}, p99 ${fmt(run.serverP99)} ms), ` +
            `server CPU ${fmt(run.cpuUs / 1e6, 2)} s (system ${fmt(run.systemUs / 1e6, 2)}), clients CPU ${fmt(run.clientCpuUs / 1e6, 2)} s, ` +
            `held ${run.held}/${n}, rss/sub ${kb(run.rssPerSub)} KiB, connect ${fmt(run.connectMs, 0)} ms, wall ${fmt(run.wallMs, 0)} ms`,
        );
      }
    }
    const floorCpu = median(byMode.floor.map((r) => r.cpuUsPerEvent));
    const hubCpu = median(byMode.hub.map((r) => r.cpuUsPerEvent));
    for (const mode of modes) {
      const rs = byMode[mode];
      const cpu = median(rs.map((r) => r.cpuUsPerEvent));
      rows.push({
        n,
        mode,
        cpuUsPerEvent: cpu,
        ratio: cpu / floorCpu,
        vsHub: cpu / hubCpu,
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        serverP50: median(rs.map((r) => r.serverP50)),
        serverP99: median(rs.map((r) => r.serverP99)),
        rssPerSubKiB: median(rs.map((r) => r.rssPerSub)) / 1024,
        heapPerSubKiB: median(rs.map((r) => r.heapPerSub)) / 1024,
        held: `${Math.min(...rs.map((r) => r.held))}/${n}`,
        wallMs: median(rs.map((r) => r.wallMs)),
        connectMs: median(rs.map((r) => r.connectMs)),
      });
    }
  }

  const table = [
    '| subscribers | server | CPU µs / delivered event | × floor | × hub SSE | latency p50 ms | latency p99 ms | server p50 ms | server p99 ms | RSS KiB / sub | heap KiB / sub | held (min) | connect ms | stream wall ms |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.n.toLocaleString('en-US')} | ${r.mode} | ${fmt(r.cpuUsPerEvent, 2)} | ${fmt(r.ratio, 2)} | ${r.mode === 'floor' ? '—' : fmt(r.vsHub, 2)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.serverP50, 2)} | ${fmt(r.serverP99, 2)} | ` +
        `${fmt(r.rssPerSubKiB, 1)} | ${fmt(r.heapPerSubKiB, 2)} | ${r.held} | ${fmt(r.connectMs, 0)} | ${fmt(r.wallMs, 0)} |`,
    ),
  ].join('\n');
  console.log(table);

  // ---- wire bytes: one 2,000-token answer to one subscriber, deltas vs legacy ----
  const wireOpts = { tokens: options.wireTokens, paceMs: 0, clients: 1, batch: 1, samples: 1, wire: true };
  const deltas = await runOnce('hub', 1, wireOpts);
  const legacy = await runOnce('hub', 1, { ...wireOpts, legacy: true });
  const floorDeltas = await runOnce('floor', 1, wireOpts);
  const w = deltas.wire!;
  const events = options.wireTokens + 3;
  const wireRows = [
    { name: 'hub, deltas (`encodeEvent`)', r: deltas },
    { name: 'floor, deltas (same frames)', r: floorDeltas },
    { name: 'hub, legacy `answer_streaming` too', r: legacy },
  ].map(({ name, r }) => ({
    name,
    bodyBytes: r.wire!.bodyBytes,
    socketBytes: r.wire!.socketBytes,
    perEvent: (r.wire!.bodyBytes - w.answerBytes) / events,
    ratio: r.wire!.bodyBytes / w.answerBytes,
    held: r.held,
  }));
  console.log(
    `\nWire bytes, one ${options.wireTokens}-token answer (${events} events) to one subscriber; the answer itself is ${w.answerBytes.toLocaleString('en-US')} bytes of UTF-8. ` +
      `Body = SSE bytes after HTTP chunked decoding; socket = all bytes read (HTTP head + chunk framing). ` +
      `Per-token frame overhead (frame − token text): ${w.frameOverheadMin}–${w.frameOverheadMax} bytes.\n`,
  );
  console.log(
    [
      '| payload | body bytes | socket bytes | (body − answer) / event | × answer bytes |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...wireRows.map(
        (r) =>
          `| ${r.name} | ${r.bodyBytes.toLocaleString('en-US')} | ${r.socketBytes.toLocaleString('en-US')} | ${fmt(r.perEvent, 1)} | ${fmt(r.ratio, 2)} |`,
      ),
    ].join('\n'),
  );

  mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./out/fanout.json', import.meta.url),
    JSON.stringify(
      { date: new Date().toISOString(), node: process.version, options, rows, wire: { answerBytes: w.answerBytes, frameOverheadMin: w.frameOverheadMin, frameOverheadMax: w.frameOverheadMax, rows: wireRows }, runs },
      null,
      2,
    ),
  );
}
