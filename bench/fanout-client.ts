/**
 * A fan-out benchmark subscriber process (spawned by bench/fanout.ts with an IPC channel): opens
 * `count` SSE connections to the hub process in batches (node:http, no keep-alive), parses every
 * stream with eventsource-parser + JSON.parse, counts the events of each connection, and records the
 * arrival time (`performance.timeOrigin + performance.now()`, at parse) of every event id on a
 * sample of connections spread evenly over its share.
 *
 * Sends { type: 'connected', connected, failed } once every connection got its response head, then
 * { type: 'result', ... } once every response ended.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';

interface ClientConfig {
  port: number;
  path: string;
  count: number;
  samples: number;
  batch: number;
  /** Events a complete stream has. */
  expectedEvents: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ClientConfig;
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const now = (): number => performance.timeOrigin + performance.now();

interface Conn {
  events: number;
  sawDone: boolean;
  arrivals: number[] | undefined;
  bodyBytes: number;
  socketBytes: number;
  ended: boolean;
  error: string | undefined;
}

const conns: Conn[] = [];
const sampleEvery = Math.max(1, Math.floor(cfg.count / Math.max(1, cfg.samples)));
let endedCount = 0;
let connectedCount = 0;
let failedCount = 0;
let connectPhaseOver = false;
/** CPU of this process from the end of the connect phase (the streaming, parsing included). */
let cpuAtConnected: NodeJS.CpuUsage | undefined;

function maybeFinish(): void {
  if (!connectPhaseOver || endedCount < conns.length) return;
  const sampled = conns.filter((c) => c.arrivals !== undefined).map((c) => c.arrivals!);
  let held = 0;
  let totalEvents = 0;
  for (const c of conns) {
    totalEvents += c.events;
    // A format sends no message for some events (AG-UI's usage goes into RUN_FINISHED): there, `done` is enough.
    if (c.sawDone && (cfg.expectedEvents === 0 || c.events === cfg.expectedEvents)) held++;
  }
  const errors = [...new Set(conns.map((c) => c.error).filter(Boolean))].slice(0, 5);
  process.send!(
    {
      type: 'result',
      count: conns.length,
      held,
      totalEvents,
      arrivals: sampled,
      first: { bodyBytes: conns[0]?.bodyBytes ?? 0, socketBytes: conns[0]?.socketBytes ?? 0, events: conns[0]?.events ?? 0 },
      errors,
      mem: process.memoryUsage().rss,
      cpuUs: cpuAtConnected ? ((used) => used.user + used.system)(process.cpuUsage(cpuAtConnected)) : 0,
    },
    () => process.exit(0),
  );
}

function open(index: number): Promise<void> {
  const conn: Conn = {
    events: 0,
    sawDone: false,
    arrivals: index % sampleEvery === 0 && index / sampleEvery < cfg.samples ? [] : undefined,
    bodyBytes: 0,
    socketBytes: 0,
    ended: false,
    error: undefined,
  };
  conns.push(conn);
  const finish = (error?: string): void => {
    if (conn.ended) return;
    conn.ended = true;
    if (error) conn.error = error;
    endedCount++;
    maybeFinish();
  };
  return new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: cfg.port, path: cfg.path, agent, headers: { accept: 'text/event-stream' } });
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        failedCount++;
        res.resume();
        finish(`status ${res.statusCode}`);
        resolve();
        return;
      }
      connectedCount++;
      resolve();
      const decoder = new StringDecoder('utf8');
      const arrivals = conn.arrivals;
      const parser = createParser({
        onEvent(message) {
          // The UI message stream's last message; AG-UI and it put an id on the last message of each event.
          if (message.data === '[DONE]') return;
          const event = JSON.parse(message.data) as { type: string };
          if (message.id === undefined) return; // legacy answer_streaming, or a format's earlier messages of one event: no id
          conn.events++;
          if (arrivals) arrivals[Number(message.id)] = now();
          if (event.type === 'done' || event.type === 'RUN_FINISHED' || event.type === 'finish') conn.sawDone = true;
        },
      });
      const socket = res.socket;
      res.on('data', (chunk: Buffer) => {
        conn.bodyBytes += chunk.length;
        parser.feed(decoder.write(chunk));
      });
      res.on('end', () => {
        conn.socketBytes = socket.bytesRead;
        finish();
      });
      res.on('error', (e) => finish(String(e)));
      res.on('aborted', () => finish('aborted'));
    });
    req.on('error', (e) => {
      failedCount++;
      finish(String((e as Error).message));
      resolve();
    });
    req.end();
  });
}

let index = 0;
while (index < cfg.count) {
  const batch: Promise<void>[] = [];
  for (let i = 0; i < cfg.batch && index < cfg.count; i++) batch.push(open(index++));
  await Promise.all(batch);
}
connectPhaseOver = true;
cpuAtConnected = process.cpuUsage();
process.send!({ type: 'connected', connected: connectedCount, failed: failedCount });
maybeFinish();
process.on('disconnect', () => process.exit(0));
