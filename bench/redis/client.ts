/**
 * The client process of the Redis benchmark (spawned by bench/redis/index.ts with an IPC channel):
 * opens one HTTP connection per channel (node:http, no keep-alive), parses each stream and, for
 * every token, records latency = parse time − the emit time carried in the token's text (both
 * `performance.timeOrigin + performance.now()`, comparable across processes on one machine).
 *
 * - `sse` (tokenflow hubs): eventsource-parser + JSON.parse per event; a token's text is `<ms>;`.
 * - `text` (resumable-stream): the body is the concatenated token texts; split on `;`.
 *
 * Tokens with index < `warmupTokens` (the first 0.5 s of each channel) are counted but not timed.
 * Sends { type: 'connected' } once every response head arrived, then { type: 'result' } once every
 * response ended.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';

interface ClientConfig {
  port: number;
  paths: string[];
  kind: 'sse' | 'text';
  tokens: number;
  warmupTokens: number;
  batch: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ClientConfig;
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const now = (): number => performance.timeOrigin + performance.now();

interface Conn {
  tokens: number;
  sawDone: boolean;
  ended: boolean;
  error: string | undefined;
  badOrder: boolean;
}

const conns: Conn[] = [];
let latencies = new Float64Array(Math.max(1024, cfg.paths.length * Math.max(0, cfg.tokens - cfg.warmupTokens)));
let nLat = 0;
let lastArrival = 0;
let endedCount = 0;
let connectPhaseOver = false;
let cpuAtStart: NodeJS.CpuUsage | undefined;

function record(emitMs: number, at: number): void {
  if (nLat === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[nLat++] = at - emitMs;
}

function onToken(conn: Conn, text: string, at: number): void {
  const k = conn.tokens++;
  if (k === 0) cpuAtStart ??= process.cpuUsage();
  lastArrival = at;
  if (k >= cfg.warmupTokens) record(Number.parseFloat(text), at);
}

function maybeFinish(): void {
  if (!connectPhaseOver || endedCount < conns.length) return;
  const cpu = process.cpuUsage(cpuAtStart);
  const sorted = latencies.subarray(0, nLat).sort();
  const pct = (p: number): number => (nLat === 0 ? NaN : sorted[Math.min(nLat - 1, Math.floor(p * nLat))]!);
  let sum = 0;
  for (let i = 0; i < nLat; i++) sum += sorted[i]!;
  let held = 0;
  let tokens = 0;
  for (const c of conns) {
    tokens += c.tokens;
    if (c.sawDone && c.tokens === cfg.tokens && !c.error && !c.badOrder) held++;
  }
  process.send!(
    {
      type: 'result',
      count: conns.length,
      held,
      tokens,
      timed: nLat,
      p50: pct(0.5),
      p90: pct(0.9),
      p99: pct(0.99),
      p999: pct(0.999),
      max: nLat ? sorted[nLat - 1] : NaN,
      min: nLat ? sorted[0] : NaN,
      mean: nLat ? sum / nLat : NaN,
      lastArrival,
      cpuUs: cpu.user + cpu.system,
      errors: [...new Set(conns.map((c) => c.error).filter(Boolean))].slice(0, 5),
    },
    () => process.exit(0),
  );
}

function open(path: string): Promise<void> {
  const conn: Conn = { tokens: 0, sawDone: false, ended: false, error: undefined, badOrder: false };
  conns.push(conn);
  const finish = (error?: string): void => {
    if (conn.ended) return;
    conn.ended = true;
    if (error) conn.error = error;
    endedCount++;
    maybeFinish();
  };
  return new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: cfg.port, path, agent, headers: { accept: cfg.kind === 'sse' ? 'text/event-stream' : 'text/plain' } });
    req.on('response', (res: IncomingMessage) => {
      resolve();
      if (res.statusCode !== 200) {
        res.resume();
        finish(`status ${res.statusCode}`);
        return;
      }
      const decoder = new StringDecoder('utf8');
      let feed: (s: string) => void;
      if (cfg.kind === 'sse') {
        let lastId = -1;
        const parser = createParser({
          onEvent(message) {
            const at = now();
            const event = JSON.parse(message.data) as { type: string; text?: string; index?: number };
            const id = Number(message.id);
            if (id !== lastId + 1) conn.badOrder = true;
            lastId = id;
            if (event.type === 'token') {
              if (event.index !== conn.tokens) conn.badOrder = true;
              onToken(conn, event.text!, at);
            } else if (event.type === 'done') conn.sawDone = true;
            else if (event.type === 'error') conn.error = `error event: ${message.data.slice(0, 200)}`;
          },
        });
        feed = (s) => parser.feed(s);
      } else {
        let rest = '';
        feed = (s) => {
          const at = now();
          rest += s;
          let from = 0;
          for (let i = rest.indexOf(';'); i !== -1; i = rest.indexOf(';', from)) {
            onToken(conn, rest.slice(from, i), at);
            from = i + 1;
          }
          rest = rest.slice(from);
        };
      }
      res.on('data', (chunk: Buffer) => feed(decoder.write(chunk)));
      res.on('end', () => {
        // A text stream has no done event: ending after every token is its "done".
        if (cfg.kind === 'text') conn.sawDone = true;
        finish();
      });
      res.on('error', (e) => finish(String(e)));
      res.on('aborted', () => finish('aborted'));
    });
    req.on('error', (e) => {
      resolve();
      finish(String((e as Error).message));
    });
    req.end();
  });
}

for (let index = 0; index < cfg.paths.length; ) {
  const batch: Promise<void>[] = [];
  for (let i = 0; i < cfg.batch && index < cfg.paths.length; i++) batch.push(open(cfg.paths[index++]!));
  await Promise.all(batch);
}
connectPhaseOver = true;
process.send!({ type: 'connected', connected: conns.filter((c) => !c.error).length, failed: conns.filter((c) => c.error).length });
maybeFinish();
process.on('disconnect', () => process.exit(0));
