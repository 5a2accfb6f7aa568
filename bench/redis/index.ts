/**
 * The Redis benchmark (run from bench/index.ts: `npm run bench -- --suite redis`).
 *
 * Delivery latency from a token's emit on one server to a client's parse of it on another, at 50
 * tokens/s per channel on N concurrent channels, for five contenders sharing one redis-server
 * (persistence off, loopback) in the same run, alternated per round:
 * - `tokenflow-redis`: `RedisStreamHub` publisher process A, follower process B serving
 *   `hub.handler()` (SSE), client process C with one connection per channel to B;
 * - `tokenflow-redis batchMs 20`: the same with a 20 ms write window (fewer commands, more latency);
 * - `tokenflow-redis streams only`: the same, with nothing pushed to B (it reads every channel with
 *   its blocking `XREAD`), the design before live delivery, for a before/after in one run;
 * - `memory`: the in-memory `StreamHub` publishing and serving in one process, the same client;
 * - `resumable-stream`: producer A (`resumableStream(id, makeStream)`, drained on A), consumer B
 *   (`resumeExistingStream(id)` piped to the client as chunked text), the client C.
 * Processes: bench/redis/server.ts (roles) and bench/redis/client.ts, fresh for every run.
 *
 * Reported per size and contender (medians over rounds): latency p50 / p99 after the first 0.5 s
 * of each channel, added latency (contender − memory), Redis commands per token from the server's
 * `INFO commandstats` deltas (these count commands run inside Lua scripts too) over the whole run
 * (setup to end, the driver's own INFO/FLUSHALL excluded) and over the streaming window, with the
 * per-command breakdown, tokenflow's client-side `hub.log.stats`, CPU seconds per process (and
 * redis-server's) over the streaming window, and whether every channel got every token.
 * Writes bench/redis/RESULTS.md and bench/out/redis.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Redis } from 'ioredis';
import { startRedis } from '../../test/helpers/redis.js';
import { Child } from '../child.js';

export interface RedisBenchOptions {
  sizes: number[];
  seconds: number;
  rounds: number;
}

type Contender = 'tokenflow-redis' | 'tokenflow-redis batchMs 20' | 'tokenflow-redis streams only' | 'memory' | 'resumable-stream';
/** `tokenflow-redis batchMs 20`: the same two hubs with a 20 ms write window (fewer commands, more latency). */
/**
 * `tokenflow-redis streams only`: followers that never announce themselves, so nothing is pushed to
 * them and they read every channel with the blocking `XREAD`: the design before live delivery.
 */
const ALL_CONTENDERS: Contender[] = ['tokenflow-redis', 'tokenflow-redis batchMs 20', 'tokenflow-redis streams only', 'memory', 'resumable-stream'];
const isTokenflowRedis = (c: Contender): boolean => c.startsWith('tokenflow-redis');
/** REDIS_BENCH_ONLY=tokenflow-redis,memory runs a subset (for profiling). */
const CONTENDERS: Contender[] = process.env.REDIS_BENCH_ONLY
  ? ALL_CONTENDERS.filter((c) => process.env.REDIS_BENCH_ONLY!.split(',').includes(c))
  : ALL_CONTENDERS;
const RATE = 50;
const WARMUP_S = 0.5;
const SERVER = new URL('./server.ts', import.meta.url).pathname;
const CLIENT = new URL('./client.ts', import.meta.url).pathname;
/** Extra node flags for server processes, e.g. REDIS_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.REDIS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Commands the driver itself sends (not part of any contender's cost). */
const DRIVER_COMMANDS = new Set(['info', 'flushall', 'config|resetstat', 'ping']);

interface ServerSnapshot {
  commands: Record<string, number>;
  /** Microseconds Redis spent in each command (commandstats `usec`). */
  usec: Record<string, number>;
  cpuS: number;
}

async function snapshot(ctl: Redis): Promise<ServerSnapshot> {
  const [stats, cpu] = await Promise.all([ctl.info('commandstats'), ctl.info('cpu')]);
  const commands: Record<string, number> = {};
  const usec: Record<string, number> = {};
  for (const line of stats.split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) {
      commands[m[1]!] = Number(m[2]);
      usec[m[1]!] = Number(m[3]);
    }
  }
  const num = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { commands, usec, cpuS: num('used_cpu_user') + num('used_cpu_sys') };
}

function delta(a: ServerSnapshot, b: ServerSnapshot, field: 'commands' | 'usec' = 'commands'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cmd, calls] of Object.entries(b[field])) {
    if (DRIVER_COMMANDS.has(cmd)) continue;
    const d = calls - (a[field][cmd] ?? 0);
    if (d > 0) out[cmd] = d;
  }
  return out;
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((s, v) => s + v, 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface RunResult {
  contender: Contender;
  n: number;
  round: number;
  tokens: number;
  received: number;
  held: number;
  timed: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** Producer: from the first scheduled tick to the last channel's end. */
  produceWallMs: number;
  lateTicks: number;
  maxLateMs: number;
  /** From start to the client's last token. */
  deliverWallMs: number;
  commandsTotal: Record<string, number>;
  commandsStreaming: Record<string, number>;
  /** Redis time per command over the streaming window (µs, commandstats). */
  usecStreaming: Record<string, number>;
  logStats: Record<string, { appends: number; reads: number; publishes: number; other: number }>;
  cpuS: Record<string, number>;
  errors: string[];
}

async function runOnce(ctl: Redis, contender: Contender, n: number, round: number, o: RedisBenchOptions & { url: string }): Promise<RunResult> {
  const tokensPerChannel = Math.round(o.seconds * RATE);
  const prefix = `r${round}n${n}`;
  const base = {
    redisUrl: o.url,
    n,
    tokens: tokensPerChannel,
    prefix,
    batchMs: contender === 'tokenflow-redis batchMs 20' ? 20 : 0,
    streamsOnly: contender === 'tokenflow-redis streams only',
  };
  await ctl.flushall();
  const snap0 = await snapshot(ctl);
  const children: Child[] = [];
  const spawnServer = (name: string, role: string): Child => {
    const c = new Child(SERVER, { ...base, role }, NODE_ARGS, name);
    children.push(c);
    return c;
  };
  const setupTimeout = 60_000 + n * 60;
  try {
    let producer: Child;
    let port: number;
    let paths: string[];
    let kind: 'sse' | 'text';
    const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    if (isTokenflowRedis(contender)) {
      producer = spawnServer('A tf-pub', 'tf-pub');
      const follower = spawnServer('B tf-follow', 'tf-follow');
      const [, ready] = await Promise.all([producer.next('ready', setupTimeout), follower.next<{ port: number }>('ready', setupTimeout)]);
      port = ready.port;
      paths = ids.map((id) => `/streams/${id}`);
      kind = 'sse';
    } else if (contender === 'memory') {
      producer = spawnServer('A mem', 'mem');
      port = (await producer.next<{ port: number }>('ready', setupTimeout)).port;
      paths = ids.map((id) => `/streams/${id}`);
      kind = 'sse';
    } else {
      producer = spawnServer('A rs-prod', 'rs-prod');
      const consumer = spawnServer('B rs-cons', 'rs-cons');
      await producer.next('ready', setupTimeout);
      port = (await consumer.next<{ port: number }>('ready', setupTimeout)).port;
      paths = ids.map((id) => `/rs/${encodeURIComponent(id)}`);
      kind = 'text';
    }
    const client = new Child(CLIENT, { port, paths, kind, tokens: tokensPerChannel, warmupTokens: Math.round(WARMUP_S * RATE), batch: 50 }, [], 'C client');
    children.push(client);
    const connected = await client.next<{ connected: number; failed: number }>('connected', setupTimeout);
    if (connected.failed > 0) console.error(`  ${contender} n=${n}: ${connected.failed} of ${n} connections failed`);
    await sleep(300);
    const snapMid = await snapshot(ctl);
    const servers = children.filter((c) => c !== client);
    const t0 = performance.timeOrigin + performance.now();
    for (const s of servers) s.send({ cmd: 'start' });
    const runTimeout = o.seconds * 1000 * 6 + 60_000;
    const [finished, result] = await Promise.all([
      producer.next<{ wallMs: number; lateTicks: number; maxLateMs: number }>('finished', runTimeout),
      client.next<any>('result', runTimeout),
    ]);
    await sleep(300);
    const snapEnd = await snapshot(ctl);
    const cpuS: Record<string, number> = {};
    const logStats: RunResult['logStats'] = {};
    const errors: string[] = [...result.errors];
    for (const s of servers) {
      s.send({ cmd: 'stats' });
      const st = await s.next<any>('stats', 30_000);
      cpuS[s.name] = st.cpuUs / 1e6;
      if (st.logStats) logStats[s.name] = st.logStats;
      if (st.rs?.errors?.length) errors.push(...st.rs.errors.map((e: string) => `${s.name}: ${e}`));
    }
    cpuS['C client'] = result.cpuUs / 1e6;
    if (contender !== 'memory') cpuS['redis-server'] = snapEnd.cpuS - snapMid.cpuS;
    if (errors.length > 0) console.error(`  ${contender} n=${n}: errors: ${[...new Set(errors)].slice(0, 3).join('; ')}`);
    return {
      contender,
      n,
      round,
      tokens: n * tokensPerChannel,
      received: result.tokens,
      held: result.held,
      timed: result.timed,
      p50: result.p50,
      p90: result.p90,
      p99: result.p99,
      p999: result.p999,
      max: result.max,
      mean: result.mean,
      produceWallMs: finished.wallMs,
      lateTicks: finished.lateTicks,
      maxLateMs: finished.maxLateMs,
      deliverWallMs: result.lastArrival - t0,
      commandsTotal: delta(snap0, snapEnd),
      commandsStreaming: delta(snapMid, snapEnd),
      usecStreaming: delta(snapMid, snapEnd, 'usec'),
      logStats,
      cpuS,
      errors: [...new Set(errors)].slice(0, 5),
    };
  } finally {
    for (const c of children) c.send({ cmd: 'exit' });
    await sleep(NODE_ARGS.length > 0 ? 3000 : 200);
    for (const c of children) c.kill();
    await sleep(n >= 1000 ? 1000 : 200);
  }
}

const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const signed = (v: number, d = 1): string => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(d)}` : 'n/a');

interface Row {
  n: number;
  contender: Contender;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  addedP50: number;
  addedP99: number;
  cmdPerToken: number;
  cmdPerTokenStreaming: number;
  breakdown: Record<string, number>;
  logStatsPerToken: Record<string, { appends: number; reads: number; publishes: number; other: number }>;
  held: string;
  received: string;
  cpuS: Record<string, number>;
  ratePerChannel: number;
  deliverWallS: number;
  cpuUsPerToken: number;
  redisUsPerCall: Record<string, number>;
}

export async function runRedis(options: RedisBenchOptions): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const redis = await startRedis();
  const ctl = new Redis(redis.url);
  const redisVersion = /redis_version:(\S+)/.exec(await ctl.info('server'))?.[1] ?? 'unknown';
  const opts = { ...options, url: redis.url };
  console.log(
    `\nRedis fan-out latency: ${RATE} tokens/s per channel for ${options.seconds} s, sizes ${options.sizes.join(', ')}, ` +
      `${options.rounds} rounds alternating ${CONTENDERS.join(' / ')}, redis-server ${redisVersion} on loopback, Node ${process.version}\n`,
  );
  const runs: RunResult[] = [];
  const rows: Row[] = [];
  try {
    for (const n of options.sizes) {
      const by: Record<Contender, RunResult[]> = { 'tokenflow-redis': [], 'tokenflow-redis batchMs 20': [], 'tokenflow-redis streams only': [], memory: [], 'resumable-stream': [] };
      for (let round = 0; round < options.rounds; round++) {
        const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]!);
        for (const contender of order) {
          const run = await runOnce(ctl, contender, n, round, opts);
          runs.push(run);
          by[contender].push(run);
          const cmds = sum(run.commandsTotal);
          console.error(
            `  n=${n} round ${round + 1} ${contender}: p50 ${fmt(run.p50, 2)} ms, p99 ${fmt(run.p99, 2)} ms, max ${fmt(run.max, 1)} ms, ` +
              `held ${run.held}/${n}, tokens ${run.received}/${run.tokens}, ` +
              `${contender === 'memory' ? '' : `${fmt(cmds / run.tokens, 3)} cmd/token, `}` +
              `cpu ${Object.entries(run.cpuS).map(([k, v]) => `${k.split(' ')[0]} ${v.toFixed(2)}s`).join(' ')}, ` +
              `produce ${fmt(run.produceWallMs / 1000, 2)} s (late ticks ${run.lateTicks}, max late ${fmt(run.maxLateMs, 0)} ms)`,
          );
        }
      }
      if (!CONTENDERS.includes('memory')) continue;
      const memP50 = median(by.memory.map((r) => r.p50));
      const memP99 = median(by.memory.map((r) => r.p99));
      for (const contender of CONTENDERS) {
        const rs = by[contender];
        const tokens = rs.reduce((s, r) => s + r.tokens, 0);
        const breakdown: Record<string, number> = {};
        for (const r of rs) for (const [k, v] of Object.entries(r.commandsTotal)) breakdown[k] = (breakdown[k] ?? 0) + v / tokens;
        const logStatsPerToken: Row['logStatsPerToken'] = {};
        for (const r of rs) {
          for (const [proc, st] of Object.entries(r.logStats)) {
            const acc = (logStatsPerToken[proc] ??= { appends: 0, reads: 0, publishes: 0, other: 0 });
            acc.appends += st.appends / tokens;
            acc.reads += st.reads / tokens;
            acc.publishes += (st.publishes ?? 0) / tokens;
            acc.other += st.other / tokens;
          }
        }
        const cpuS: Record<string, number> = {};
        for (const proc of Object.keys(rs[0]?.cpuS ?? {})) cpuS[proc] = median(rs.map((r) => r.cpuS[proc] ?? NaN));
        const p50 = median(rs.map((r) => r.p50));
        const p99 = median(rs.map((r) => r.p99));
        rows.push({
          n,
          contender,
          p50,
          p99,
          p999: median(rs.map((r) => r.p999)),
          max: Math.max(...rs.map((r) => r.max)),
          addedP50: p50 - memP50,
          addedP99: p99 - memP99,
          cmdPerToken: median(rs.map((r) => sum(r.commandsTotal) / r.tokens)),
          cmdPerTokenStreaming: median(rs.map((r) => sum(r.commandsStreaming) / r.tokens)),
          breakdown,
          logStatsPerToken,
          held: `${Math.min(...rs.map((r) => r.held))}/${n}`,
          received: `${Math.min(...rs.map((r) => r.received))}/${n * Math.round(options.seconds * RATE)}`,
          cpuS,
          ratePerChannel: median(rs.map((r) => (r.tokens / r.n / r.produceWallMs) * 1000)),
          deliverWallS: median(rs.map((r) => r.deliverWallMs / 1000)),
          cpuUsPerToken: median(rs.map((r) => (sum(r.cpuS) * 1e6) / r.tokens)),
          redisUsPerCall: Object.fromEntries(
            ['xadd', 'xread', 'publish'].flatMap((c) => {
              const calls = rs.reduce((s, r) => s + (r.commandsStreaming[c] ?? 0), 0);
              return calls > 0 ? [[c, rs.reduce((s, r) => s + (r.usecStreaming[c] ?? 0), 0) / calls]] : [];
            }),
          ),
        });
      }
    }
  } finally {
    ctl.disconnect();
    await redis.stop();
  }
  const durationS = (performance.now() - t0) / 1000;
  const report = renderReport(rows, options, { started, durationS, redisVersion });
  console.log(report.tables);
  writeFileSync(new URL('./RESULTS.md', import.meta.url), report.markdown);
  mkdirSync(new URL('../out/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('../out/redis.json', import.meta.url),
    JSON.stringify({ date: started.toISOString(), durationS, node: process.version, redisVersion, options, rows, runs }, null, 2),
  );
  console.log(`\nWrote bench/redis/RESULTS.md and bench/out/redis.json (${fmt(durationS / 60, 1)} minutes).`);
}

function version(pkg: string): string {
  try {
    // bench/'s own packages (bench/package.json) shadow the root's, as Node resolves them from bench/.
    const read = (root: string) => (JSON.parse(readFileSync(new URL(`${root}node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
    try {
      return read('../');
    } catch {
      return read('../../');
    }
  } catch {
    return 'unknown';
  }
}

function renderReport(rows: Row[], o: RedisBenchOptions, meta: { started: Date; durationS: number; redisVersion: string }): { tables: string; markdown: string } {
  const latency = [
    '| channels | contender | p50 ms | p99 ms | p99.9 ms | max ms | added p50 ms | added p99 ms | p99 added ≤ 5 ms | every token (min over rounds) | tokens/s per channel |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: |',
    ...rows.map((r) => {
      const mem = r.contender === 'memory';
      return (
        `| ${r.n.toLocaleString('en-US')} | ${r.contender} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.p999, 1)} | ${fmt(r.max, 1)} | ` +
        `${mem ? '—' : signed(r.addedP50, 2)} | ${mem ? '—' : signed(r.addedP99, 2)} | ${mem ? '—' : r.addedP99 <= 5 ? 'yes' : '**no**'} | ` +
        `${r.held} channels, ${r.received} tokens | ${fmt(r.ratePerChannel, 1)} |`
      );
    }),
  ].join('\n');
  const redisRows = rows.filter((r) => r.contender !== 'memory');
  const top = (b: Record<string, number>): string =>
    Object.entries(b)
      .sort((x, y) => y[1] - x[1])
      .filter(([, v]) => v >= 0.0005)
      .map(([k, v]) => `${k.toUpperCase()} ${v.toFixed(3)}`)
      .join(', ');
  const commands = [
    '| channels | contender | Redis commands / token (whole run) | streaming window only | < 1 / token | breakdown per token (whole run, server-side) | tokenflow `hub.log.stats` per token (appends / reads / publishes / other) |',
    '| ---: | --- | ---: | ---: | :---: | --- | --- |',
    ...redisRows.map(
      (r) =>
        `| ${r.n.toLocaleString('en-US')} | ${r.contender} | ${fmt(r.cmdPerToken, 3)} | ${fmt(r.cmdPerTokenStreaming, 3)} | ${r.cmdPerToken < 1 ? 'yes' : '**no**'} | ${top(r.breakdown)} | ` +
        `${Object.entries(r.logStatsPerToken).map(([p, s]) => `${p.split(' ')[0]}: ${s.appends.toFixed(3)} / ${s.reads.toFixed(3)} / ${s.publishes.toFixed(3)} / ${s.other.toFixed(3)}`).join('; ') || '—'} |`,
    ),
  ].join('\n');
  const cpu = [
    '| channels | contender | CPU s per process over the streaming window (median) | CPU µs / token, all processes | Redis µs / call (commandstats) | delivery wall s |',
    '| ---: | --- | --- | ---: | --- | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.n.toLocaleString('en-US')} | ${r.contender} | ${Object.entries(r.cpuS).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} | ${fmt(r.cpuUsPerToken, 1)} | ` +
        `${Object.entries(r.redisUsPerCall).map(([k, v]) => `${k.toUpperCase()} ${v.toFixed(1)}`).join(', ') || '—'} | ${fmt(r.deliverWallS, 2)} |`,
    ),
  ].join('\n');
  const targets = renderTargets(rows);
  const tables = `${latency}\n\n${commands}\n\n${cpu}\n\n${targets}`;
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const cpus = os.cpus();
  const markdown = `# Redis: delivery latency and Redis commands per token

Generated by \`npm run bench -- --suite redis\` (bench/redis/) on ${meta.started.toISOString().slice(0, 10)}; the run took ${fmt(meta.durationS / 60, 1)} minutes.
Options: \`--redis-sizes ${o.sizes.join(',')} --redis-seconds ${o.seconds} --redis-rounds ${o.rounds}\`.

## Method

- One redis-server (persistence off, loopback) for the whole run, flushed before every run. Five
  contenders per size, alternated (order rotated every round), every run in fresh processes:
  - **tokenflow-redis**: \`RedisStreamHub\` publisher process A → Redis → \`RedisStreamHub\` follower
    process B serving \`hub.handler()\` (SSE) → client process C (one connection per channel).
  - **tokenflow-redis batchMs 20**: the same, with \`batchMs: 20\` (events wait up to 20 ms to share
    one write; the first token and done do not wait): fewer Redis commands for more latency.
  - **tokenflow-redis streams only** (before): the same as the first, except that B never announces
    that it follows, so A pushes nothing to it and B reads every channel with its one blocking
    \`XREAD\`: how followers read before live delivery (the bench's \`readerSettings\` seam).
  - **memory**: the in-memory \`StreamHub\` publishing and serving in one process → client C.
  - **resumable-stream**: producer A (\`resumableStream(id, makeStream)\`, the returned stream drained on A
    as a route handler would) → Redis pub/sub → consumer B (\`resumeExistingStream(id)\`, piped as
    chunked \`text/plain\`) → client C.
- Each channel emits ${RATE} tokens/s (every 20 ms on an absolute schedule; channel i starts at
  i mod 20 ms) for ${o.seconds} s (${Math.round(o.seconds * RATE)} tokens), then usage and done (tokenflow) or the end of the stream.
  A token's text is its emit time, \`performance.timeOrigin + performance.now()\`, taken right before it
  is handed to the library; C records parse time − emit time (tokenflow: eventsource-parser + JSON.parse;
  resumable-stream: split on \`;\`). The first ${WARMUP_S} s of each channel is not timed.
- Latencies are per run (all timed tokens of all channels), then the median over ${o.rounds} rounds.
  Added = contender − memory (difference of the medians).
- Redis commands: \`INFO commandstats\` deltas (commands inside Lua scripts are counted too) divided
  by tokens published; "whole run" spans from before the processes start (channel creation, follower
  setup) to 300 ms after the last token; "streaming window" from the start signal on. The driver's
  own INFO/FLUSHALL are excluded. \`hub.log.stats\` are tokenflow's own client-side counts per process.
- CPU: \`process.cpuUsage()\` of each process (client: from its first token) and redis-server's
  \`used_cpu_user + used_cpu_sys\`, over the streaming window.

## Machine and versions

- ${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, shared with other jobs (load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')})
- Node ${process.version}, redis-server ${meta.redisVersion}
- tokenflow ${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version} (${commit}), ioredis ${version('ioredis')}, resumable-stream ${version('resumable-stream')}, eventsource-parser ${version('eventsource-parser')}

## Latency (ms, emit on A → parse on C)

${latency}

## Redis commands per token

${commands}

## CPU

${cpu}

## Targets (issue 18, item 3), before and after live delivery

"Before" is \`tokenflow-redis streams only\` (the same run, nothing pushed to B), "after" is \`tokenflow-redis\`.

${targets}
`;
  return { tables, markdown };
}

/**
 * Issue 18's Redis targets, per size: B's CPU against resumable-stream's consumer, the p99 added
 * (at most 5 ms at 1 and 100 channels, at most resumable-stream's at 1,000), and fewer than one Redis
 * command per token under high load (the largest size), each before (streams only) and after.
 */
function renderTargets(rows: Row[]): string {
  const find = (n: number, c: Contender) => rows.find((r) => r.n === n && r.contender === c);
  const follower = (r: Row | undefined) => (r ? Object.entries(r.cpuS).find(([k]) => k.startsWith('B'))?.[1] : undefined);
  const sizes = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const largest = sizes[sizes.length - 1];
  const lines = [
    '| channels | follower CPU s: after / before / resumable-stream | at or below resumable-stream | p99 added ms: after / before / resumable-stream | p99 target | commands / token: after / before | under 1 (largest size only) |',
    '| ---: | --- | :---: | --- | :---: | --- | :---: |',
  ];
  for (const n of sizes) {
    const after = find(n, 'tokenflow-redis');
    const before = find(n, 'tokenflow-redis streams only');
    const rs = find(n, 'resumable-stream');
    if (!after) continue;
    const [a, b, r] = [follower(after), follower(before), follower(rs)];
    const cpuMet = a !== undefined && r !== undefined ? (a <= r ? 'yes' : '**no**') : 'n/a';
    const p99Limit = n === largest && sizes.length > 1 ? rs?.addedP99 : 5;
    const p99Met = p99Limit === undefined ? 'n/a' : after.addedP99 <= p99Limit ? 'yes' : '**no**';
    const under = n === largest ? (after.cmdPerToken < 1 ? 'yes' : '**no**') : '—';
    lines.push(
      `| ${n.toLocaleString('en-US')} | ${fmt(a ?? NaN, 2)} / ${fmt(b ?? NaN, 2)} / ${fmt(r ?? NaN, 2)} | ${cpuMet} | ` +
        `${signed(after.addedP99, 2)} / ${before ? signed(before.addedP99, 2) : 'n/a'} / ${rs ? signed(rs.addedP99, 2) : 'n/a'} | ` +
        `${p99Met} (≤ ${p99Limit === 5 ? '5 ms' : 'resumable-stream'}) | ${fmt(after.cmdPerToken, 3)} / ${before ? fmt(before.cmdPerToken, 3) : 'n/a'} | ${under} |`,
    );
  }
  return lines.join('\n');
}
