/**
 * The shared reader's two ways in (pushes on the live channel, the blocking XREAD) against fake
 * connections whose replies the test hands out one by one, so the orders that a real Redis makes
 * only now and then are made here every time: a push handled before an XREAD that brings the same
 * entry, a push of the entry read last, a push that skips ids. The real-Redis behaviour is in
 * log.test.ts ("live delivery").
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Keys, liveItem, type StreamItem } from '../../src/redis/keys.js';
import type { RedisLogStats } from '../../src/redis/log.js';
import { SharedReader } from '../../src/redis/reader.js';
import type { ChannelLogEntry } from '../../src/sse/channel-log.js';

interface Call {
  args: unknown[];
  resolve: (value: unknown) => void;
}

/** A connection whose `call`s wait until the test answers them. */
class FakeConnection extends EventEmitter {
  readonly status = 'ready';
  readonly calls: Call[] = [];
  readonly #waiters: Array<() => void> = [];

  call(...args: unknown[]): Promise<unknown> {
    return new Promise((resolve) => {
      this.calls.push({ args, resolve });
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  subscribe(): Promise<number> {
    return Promise.resolve(1);
  }

  pipeline() {
    const pipeline = {
      call: () => pipeline,
      pexpire: () => pipeline,
      exec: () => Promise.resolve([]),
    };
    return pipeline;
  }

  /** The next unanswered call of `command`, waiting for it to be made. */
  async next(command: string): Promise<Call> {
    for (;;) {
      const i = this.calls.findIndex((c) => c.args[0] === command);
      if (i >= 0) return this.calls.splice(i, 1)[0]!;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

const keys = new Keys('tokenflow:', 'server-b');
const CHANNEL = 'c1';
const STREAM = keys.stream(CHANNEL);

/** The stream entry of one token event with id `id`. */
function item(id: number): StreamItem {
  return [`${id + 1}-0`, ['i', String(id), 't', 'token', 'd', JSON.stringify({ type: 'token', text: `w${id}` })]];
}

function push(sub: FakeConnection, ...items: StreamItem[]): void {
  sub.emit('message', keys.live('server-b'), `[${items.map(([id, fields]) => liveItem(CHANNEL, id, fields)).join(',')}]`);
}

async function setUp() {
  const reader = new FakeConnection();
  const cmd = new FakeConnection();
  const sub = new FakeConnection();
  const stats: RedisLogStats = { appends: 0, reads: 0, publishes: 0, other: 0 };
  const shared = new SharedReader({
    reader: reader as unknown as Redis,
    cmd: cmd as unknown as Redis,
    sub: sub as unknown as Redis,
    serverId: 'server-b',
    keys,
    stats,
    onStop: () => {},
    onAnnounce: () => {},
  });
  const seen: ChannelLogEntry[] = [];
  shared.watch(CHANNEL, (entries) => seen.push(...entries), undefined);
  // The channel's end when it was watched: empty.
  (await cmd.next('XREVRANGE')).resolve([]);
  // This server announces itself to the owner.
  const announce = await cmd.next('XADD');
  expect(announce.args).toEqual(expect.arrayContaining(['f', CHANNEL, 's', 'server-b']));
  // The reader's start on the control stream.
  (await reader.next('XREVRANGE')).resolve([]);
  const read = async () => {
    const call = await reader.next('XREAD');
    return { call, includes: call.args.includes(STREAM) };
  };
  return { shared, reader, cmd, sub, seen, read, close: () => shared.close() };
}

const ids = (entries: readonly ChannelLogEntry[]) => entries.map((e) => e.id);

describe('SharedReader: pushes and the blocking read', () => {
  it('a push handled before an XREAD that brings the same entry: the entry is handed out once', async () => {
    const t = await setUp();
    const first = await t.read();
    expect(first.includes).toBe(true);
    // The push of entry 0 comes first and continues the channel exactly.
    push(t.sub, item(0));
    expect(ids(t.seen)).toEqual([0]);
    // The read sent before it brings 0 and 1: only 1 is new.
    first.call.resolve([[STREAM, [item(0), item(1)]]]);
    const second = await t.read();
    expect(ids(t.seen)).toEqual([0, 1]);
    // The channel is live: the next read leaves it out.
    expect(second.includes).toBe(false);
    push(t.sub, item(1));
    push(t.sub, item(2), item(3));
    expect(ids(t.seen)).toEqual([0, 1, 2, 3]);
    second.call.resolve(null);
    await t.close();
  });

  it('the push of the entry read last makes the channel live; a push that skips ids puts it back on the read', async () => {
    const t = await setUp();
    const first = await t.read();
    first.call.resolve([[STREAM, [item(0)]]]);
    const second = await t.read();
    expect(second.includes).toBe(true);
    expect(ids(t.seen)).toEqual([0]);
    // A late push of entry 0: the pushes have caught up with the stream.
    push(t.sub, item(0));
    expect(ids(t.seen)).toEqual([0]);
    second.call.resolve(null);
    const third = await t.read();
    expect(third.includes).toBe(false);
    // Entry 1's push went missing; entry 2's arrives: not handed out, and the channel goes back.
    push(t.sub, item(2));
    expect(ids(t.seen)).toEqual([0]);
    third.call.resolve(null);
    const fourth = await t.read();
    expect(fourth.includes).toBe(true);
    expect(fourth.call.args[fourth.call.args.length - 1]).toBe('1-0');
    fourth.call.resolve([[STREAM, [item(1), item(2)]]]);
    await t.read();
    expect(ids(t.seen)).toEqual([0, 1, 2]);
    await t.close();
  });

  it('the subscriber dropped: every channel goes back to the read, and is announced again once it is back', async () => {
    const t = await setUp();
    t.sub.emit('ready'); // its first connection
    const first = await t.read();
    push(t.sub, item(0));
    first.call.resolve(null);
    const live = await t.read();
    expect(live.includes).toBe(false);
    // Pushes sent from now on are lost: the channel goes back to the read (woken by the wake stream).
    t.sub.emit('close');
    live.call.resolve(null);
    expect((await t.read()).includes).toBe(true);
    // Back: the owner may have dropped this server meanwhile, so it announces itself again.
    t.sub.emit('ready');
    const again = await t.cmd.next('XADD');
    expect(again.args).toEqual(expect.arrayContaining(['f', CHANNEL, 's', 'server-b']));
    await t.close();
  });
});
