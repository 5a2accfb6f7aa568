/**
 * One server of the Redis hub cluster tests (test/redis/cluster.test.ts), run as a child process:
 * `node --import tsx hub-process.ts '{"url":"redis://…","leaseMs":1000,"graceMs":10000}'`.
 *
 * Creates a `RedisStreamHub`, serves `hub.handler()` on 127.0.0.1 (port 0) and talks to the parent
 * over IPC: sends `{ type: 'ready', port, serverId }`, then answers each `{ id, cmd, … }` with
 * `{ type: 'reply', id, ok, result | error }`. Commands:
 * - `{ cmd: 'publish', channel, mockBaseURL, model? }`: publishes the OpenAI adapter's stream of the
 *   mock at `mockBaseURL`; replies once `publish` resolved.
 * - `{ cmd: 'stop', channel }`: replies with `hub.stop(channel)`'s boolean.
 * - `{ cmd: 'close' }`: closes the hub and the server, replies, then exits.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openai } from '../../src/providers/openai.js';
import { RedisStreamHub } from '../../src/redis/index.js';

interface Args {
  url: string;
  leaseMs: number;
  graceMs: number;
}

type Command =
  | { id: number; cmd: 'publish'; channel: string; mockBaseURL: string; model?: string }
  | { id: number; cmd: 'stop'; channel: string }
  | { id: number; cmd: 'close' };

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const hub = new RedisStreamHub({ redis: args.url, leaseMs: args.leaseMs, graceMs: args.graceMs });
const handler = hub.handler();
const server = http.createServer((req, res) => void handler(req, res));
const send = (message: unknown): void => {
  if (process.connected) process.send!(message);
};

async function run(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'publish': {
      const llm = openai({ apiKey: 'test', baseURL: command.mockBaseURL, maxRetries: 0 });
      const messages = [{ role: 'user' as const, content: 'Say something.' }];
      await hub.publish(command.channel, llm.stream({ model: command.model ?? 'gpt-4o-mini', messages }));
      return true;
    }
    case 'stop':
      return hub.stop(command.channel);
    case 'close':
      await hub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      return true;
  }
}

process.on('message', (command: Command) => {
  run(command).then(
    (result) => {
      send({ type: 'reply', id: command.id, ok: true, result });
      if (command.cmd === 'close') setTimeout(() => process.exit(0), 10);
    },
    (error: unknown) => send({ type: 'reply', id: command.id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  );
});
// The parent went away (a crashed test run): do not linger.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port, serverId: hub.log.serverId });
});
