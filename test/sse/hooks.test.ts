/**
 * The hub's user hooks (issue 14, items 7 and 9): a hook that throws stays local to the request or
 * follower it ran for, and the `authorize` example of docs/sse.md fails closed, tested as written.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Subject } from 'rxjs';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { StreamHub, type AuthorizeHook, type StreamHubOptions } from '../../src/sse/hub.js';
import { collectAll, textOf, tick } from '../helpers/hub.js';
import { openSSE, parseSSE } from '../helpers/sse-reader.js';
import { listenLocal } from '../helpers/http.js';

const cleanups: Array<() => Promise<void>> = [];
let consoleError: MockInstance<typeof console.error>;
beforeEach(() => {
  // The hub reports a hook's throw with console.error: captured to assert on, and kept off the output.
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  consoleError.mockRestore();
});

function newHub(options: StreamHubOptions): StreamHub {
  const hub = new StreamHub(options);
  cleanups.push(() => hub.close());
  return hub;
}

/** `hub.handler()` on a real `node:http` server on 127.0.0.1. */
async function serve(hub: StreamHub): Promise<(path: string) => string> {
  const handler = hub.handler();
  const local = await listenLocal(http.createServer((req, res) => void handler(req, res)));
  cleanups.push(local.close);
  return (path) => `${local.origin}${path}`;
}

const SECRET = 'postgres://admin:hunter2@db';
const start: TokenEvent = { type: 'start', provider: 't', model: 'm', t: 0 };
const token = (text: string, index: number): TokenEvent => ({ type: 'token', text, index, t: index + 1 });
const done: TokenEvent = { type: 'done', stopReason: 'end', t: 99 };

/** Whether some console.error call's first argument mentions `text`. */
function reported(text: string): boolean {
  return consoleError.mock.calls.some((args) => String(args[0]).includes(text));
}

describe('a throwing onDrop stays with the dropped follower', () => {
  it('drops the slow follower, keeps the others and the channel, which ends and is readable', async () => {
    let drops = 0;
    const hub = newHub({
      maxBufferedBytes: 1024,
      onDrop: () => {
        drops++;
        throw new Error('metrics backend down');
      },
    });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('drop-1', upstream);
    upstream.next(start);
    // The slow follower first, so a throw escaping its delivery would also skip the healthy one.
    const stalled = await hub.fetch(new Request('http://hub.test/streams/drop-1'));
    expect(stalled.status).toBe(200);
    const healthy = collectAll(hub.subscribe('drop-1'));
    await tick(); // the in-memory log answers within the turn: both followers have replayed `start`
    expect(hub.followerCount('drop-1')).toBe(2);

    // One batch larger than maxBufferedBytes: the stalled follower (never read) goes over at once.
    const big = 'x'.repeat(4096);
    upstream.next(token(big, 0));
    await tick();
    expect(drops).toBe(1);
    expect(hub.followerCount('drop-1')).toBe(1);
    expect(upstream.observed).toBe(true); // the upstream was not cancelled
    upstream.next(token(' end', 1));
    upstream.next(done);

    const { messages, error } = await healthy;
    expect(error).toBeUndefined();
    expect(textOf(messages)).toBe(`${big} end`);
    expect(messages.map((m) => m.id)).toEqual([0, 1, 2, 3]);
    // The dropped follower's stream is cut (its browser reconnects), not ended cleanly.
    await expect(new Response(stalled.body).text()).rejects.toThrow(/dropped/);
    // The channel finished in the log (it is not left open forever) and serves a later follower.
    expect((await hub.info('drop-1'))?.finished).toBe(true);
    const later = await collectAll(hub.subscribe('drop-1'));
    expect(later.error).toBeUndefined();
    expect(later.messages.map((m) => m.event.type)).toEqual(['start', 'token', 'token', 'done']);
    expect(reported('"drop-1"')).toBe(true);
    expect(consoleError).toHaveBeenCalledTimes(1);
  });
});

describe('a throwing or rejecting authorize is a 500 for that request only', () => {
  /** Throws, rejects or admits, as the request's `x-mode` header says. */
  const authorize: AuthorizeHook = (request) => {
    const mode = request.header('x-mode');
    if (mode === 'throw') throw new Error(`session store down: ${SECRET}`);
    if (mode === 'reject') return Promise.reject(new Error(`session store down: ${SECRET}`));
    return true;
  };

  /** A channel with a follower that is in the middle of it. */
  async function running(hub: StreamHub, channel: string) {
    const upstream = new Subject<TokenEvent>();
    await hub.publish(channel, upstream);
    upstream.next(start);
    upstream.next(token('Hello', 0));
    const follower = collectAll(hub.subscribe(channel));
    return { upstream, follower };
  }

  async function finishes(channel: string, upstream: Subject<TokenEvent>, follower: ReturnType<typeof collectAll>) {
    expect(upstream.observed).toBe(true); // nothing stopped it
    upstream.next(token(' world', 1));
    upstream.next(done);
    const { messages, error } = await follower;
    expect(error).toBeUndefined();
    expect(textOf(messages)).toBe('Hello world');
    expect(reported(`"${channel}"`)).toBe(true);
  }

  for (const mode of ['throw', 'reject'] as const) {
    it(`hub.handler() over HTTP: ${mode} on follow and on stop`, async () => {
      const hub = newHub({ authorize });
      const url = await serve(hub);
      const channel = `http-${mode}`;
      const { upstream, follower } = await running(hub, channel);
      for (const [path, method] of [[`/streams/${channel}`, 'GET'], [`/streams/${channel}/stop`, 'POST']] as const) {
        const refused = await fetch(url(path), { method, headers: { 'x-mode': mode } });
        expect(refused.status).toBe(500);
        const body = await refused.text();
        expect(body).not.toContain(SECRET);
        expect(body).not.toContain('session store');
      }
      // A later request on the same server follows the same channel to its end.
      const later = await openSSE(url(`/streams/${channel}`));
      expect(later.status).toBe(200);
      await finishes(channel, upstream, follower);
      expect(await later.ended).toBe('end');
      expect(later.messages.map((m) => m.event)).toEqual(['start', 'token', 'token', 'done']);
      expect(consoleError).toHaveBeenCalledTimes(2);
    });

    it(`hub.fetch(): ${mode} on follow and on stop`, async () => {
      const hub = newHub({ authorize });
      const channel = `fetch-${mode}`;
      const { upstream, follower } = await running(hub, channel);
      for (const [path, method] of [[`/streams/${channel}`, 'GET'], [`/streams/${channel}/stop`, 'POST']] as const) {
        const refused = await hub.fetch(new Request(`http://hub.test${path}`, { method, headers: { 'x-mode': mode } }));
        expect(refused.status).toBe(500);
        const body = await refused.text();
        expect(body).not.toContain(SECRET);
        expect(body).not.toContain('session store');
      }
      const later = await hub.fetch(new Request(`http://hub.test/streams/${channel}`));
      expect(later.status).toBe(200);
      await finishes(channel, upstream, follower);
      const parsed = await parseSSE(later.body!);
      expect(parsed.messages.map((m) => m.event)).toEqual(['start', 'token', 'token', 'done']);
      expect(consoleError).toHaveBeenCalledTimes(2);
    });
  }
});

describe("docs/sse.md's authorize example, as written, fails closed", () => {
  const MARKER = '// example: authorize';
  const END = '// end of example';

  /** The code between the markers in docs/sse.md, type-stripped and evaluated with `userIdFrom` in scope. */
  function exampleAuthorize(userIdFrom: (authorization: string | undefined) => string | undefined): AuthorizeHook {
    const docs = readFileSync(new URL('../../docs/sse.md', import.meta.url), 'utf8');
    const from = docs.indexOf(MARKER);
    const to = docs.indexOf(END, from);
    expect(from, `docs/sse.md has no "${MARKER}" block`).toBeGreaterThan(-1);
    expect(to).toBeGreaterThan(from);
    expect(docs.indexOf(MARKER, from + 1), 'one marked block').toBe(-1);
    // The hub in the docs is built with this very function.
    expect(docs.slice(to, docs.indexOf('```', to))).toContain('new StreamHub({ authorize })');
    const source = docs.slice(from, to);
    const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    // Evaluated, not copied: the test must break when the docs' code changes.
    return new Function('userIdFrom', `${js}\nreturn authorize;`)(userIdFrom) as AuthorizeHook;
  }

  /** Bearer tokens of two signed-in users; anything else is no user. */
  const sessions = new Map([['token-alice', 'alice'], ['token-bob', 'bob']]);
  const userIdFrom = (authorization: string | undefined): string | undefined =>
    authorization?.startsWith('Bearer ') ? sessions.get(authorization.slice('Bearer '.length)) : undefined;
  const as = (token: string | undefined): HeadersInit => (token === undefined ? {} : { authorization: `Bearer ${token}` });

  it('refuses a channel without an owner to everyone, refuses requests without a user, admits only the owner', async () => {
    const hub = newHub({ authorize: exampleAuthorize(userIdFrom) });
    const owned = new Subject<TokenEvent>();
    await hub.publish('owned', owned, { meta: { userId: 'alice' } });
    const ownerless = new Subject<TokenEvent>();
    await hub.publish('ownerless', ownerless);
    const status = async (channel: string, token: string | undefined, method: 'GET' | 'POST' = 'GET') => {
      const path = method === 'GET' ? `/streams/${channel}` : `/streams/${channel}/stop`;
      const response = await hub.fetch(new Request(`http://hub.test${path}`, { method, headers: as(token) }));
      await response.body?.cancel();
      return response.status;
    };

    // A channel published without meta.userId: undefined must not equal a missing user.
    expect(await status('ownerless', undefined)).toBe(401);
    expect(await status('ownerless', undefined, 'POST')).toBe(401);
    expect(await status('ownerless', 'token-forged')).toBe(401);
    expect(await status('ownerless', 'token-alice')).toBe(403);
    expect(await status('ownerless', 'token-alice', 'POST')).toBe(403);
    // An owned channel: no credentials, another user, the owner.
    expect(await status('owned', undefined)).toBe(401);
    expect(await status('owned', undefined, 'POST')).toBe(401);
    expect(await status('owned', 'token-bob')).toBe(403);
    expect(await status('owned', 'token-bob', 'POST')).toBe(403);
    expect(await status('owned', 'token-alice')).toBe(200);
    // Nothing was stopped by the refused POSTs.
    expect(owned.observed).toBe(true);
    expect(ownerless.observed).toBe(true);
    expect(await status('owned', 'token-alice', 'POST')).toBe(204);
    expect(owned.observed).toBe(false);
  });
});
