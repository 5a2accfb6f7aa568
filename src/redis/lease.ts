/**
 * Leases and presence of the Redis log (internal): this server's claim on the channels it runs,
 * renewed on a timer of its own, and its presence among the followers of the channels it follows.
 */
import type { Redis } from 'ioredis';
import { replies, type Keys } from './keys.js';
import type { RedisLogStats } from './log.js';

/** What the leases need from the log. */
export interface LeaseOptions {
  readonly cmd: Redis;
  readonly keys: Keys;
  readonly serverId: string;
  readonly leaseMs: number;
  readonly idleTtlMs: number;
  /** How often leases and presence are renewed (a third of the lease). */
  readonly intervalMs: number;
  readonly stats: RedisLogStats;
  /** The channels this server follows, for its presence. */
  readonly followed: () => string[];
  /** This server lost the right to write `channel` (its lease lapsed): its upstream must stop. */
  readonly onLapse: (channel: string) => void;
}

/**
 * The leases of the channels whose upstream runs here, and this server's presence on the channels
 * it follows.
 *
 * Renewal runs on its own timer and waits for nothing but its own round trip: whatever else the
 * log is doing (finishing hundreds of channels of a crashed peer, say), a healthy server keeps its
 * leases, so its peers never take its channels for lost.
 */
export class Leases {
  readonly #o: LeaseOptions;
  readonly #owned = new Set<string>();
  /** Channels whose writes failed here, with when: nothing more is written for them. */
  readonly #fenced = new Map<string, number>();
  readonly #timer: ReturnType<typeof setInterval>;
  #renewing = false;
  #presenting = false;
  /** When the leases were last renewed (or there were none to renew and Redis was reachable). */
  #lastRenewed = Date.now();
  #closed = false;

  constructor(options: LeaseOptions) {
    this.#o = options;
    this.#timer = setInterval(() => {
      void this.#renew();
      void this.#refreshPresence();
    }, options.intervalMs);
    this.#timer.unref?.();
  }

  /** The lease's lifetime (ms). */
  get leaseMs(): number {
    return this.#o.leaseMs;
  }

  /** How long a running channel's keys live without a renewal (ms). */
  get idleTtlMs(): number {
    return this.#o.idleTtlMs;
  }

  /** Whether this server runs the channel's upstream under a live lease. */
  owns(channel: string): boolean {
    return this.#owned.has(channel);
  }

  /** Takes the lease of a channel just created here (its key was set by the create script). */
  take(channel: string): void {
    if (this.#owned.size === 0) this.#lastRenewed = Date.now();
    this.#owned.add(channel);
  }

  /** Stops renewing a channel that ended here (its lease expires or was released). */
  drop(channel: string): void {
    this.#owned.delete(channel);
  }

  /**
   * Releases the lease of a channel whose terminal entry is being stored. Never rejects: a lease
   * that could not be deleted runs out by itself within `leaseMs`, and the channel is finished
   * either way, so nobody acts on it.
   */
  release(channel: string): Promise<void> {
    this.#owned.delete(channel);
    this.#o.stats.other++;
    return this.#o.cmd.del(this.#o.keys.lease(channel)).then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Fences a channel after a write of it failed (Redis full, the connection gone, the channel
   * fenced by a peer): no more writes of it are sent from here, its lease is no longer renewed, and
   * it is released at once (a `DEL`, which Redis allows even when full), so its followers on other
   * servers finish it within a renewal interval instead of a whole lease. Never rejects.
   */
  fence(channel: string): Promise<void> {
    this.#fenced.set(channel, Date.now());
    // A terminal batch released it already, in the round trip of the write that failed.
    return this.#owned.has(channel) ? this.release(channel) : Promise.resolve();
  }

  /** Whether a write of this channel failed here before. */
  isFenced(channel: string): boolean {
    return this.#fenced.has(channel);
  }

  /** Announces this server among the followers of channels it just started following. */
  join(channels: string[]): void {
    if (channels.length === 0 || this.#closed) return;
    this.#present(channels, Date.now()).catch(() => {});
  }

  /** Removes this server from a channel's followers. */
  leave(channel: string): void {
    if (this.#closed) return;
    this.#o.stats.other++;
    this.#o.cmd.zrem(this.#o.keys.followers(channel), this.#o.serverId).catch(() => {});
  }

  /** Stops the timer. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #renew(): Promise<void> {
    if (this.#closed || this.#renewing) return;
    this.#renewing = true;
    try {
      await this.#renewOnce();
    } finally {
      this.#renewing = false;
    }
  }

  async #renewOnce(): Promise<void> {
    const { cmd, keys, leaseMs, idleTtlMs, stats } = this.#o;
    const now = Date.now();
    for (const [channel, since] of this.#fenced) if (now - since > idleTtlMs) this.#fenced.delete(channel);
    const owned = [...this.#owned];
    if (cmd.status !== 'ready') {
      // Commands would only queue up until the connection is back. Past the lease, the others
      // consider this server's channels lost: stop paying for their upstreams.
      if (now - this.#lastRenewed > leaseMs) this.#lapse(owned);
      return;
    }
    if (owned.length === 0) {
      this.#lastRenewed = now;
      return;
    }
    // Each lease, and the channel's keys with it (so they do not expire while it runs). An explicit
    // pipeline goes to the socket at once, in one write, ahead of anything queued for later.
    const pipeline = cmd.pipeline();
    for (const channel of owned) pipeline.pexpire(keys.lease(channel), leaseMs).pexpire(keys.stream(channel), idleTtlMs).pexpire(keys.meta(channel), idleTtlMs);
    stats.other += owned.length * 3;
    let results: unknown[];
    try {
      results = replies(await pipeline.exec());
    } catch {
      // The connection dropped meanwhile: the next renewal sees it.
      return;
    }
    this.#lastRenewed = Date.now();
    this.#lapse(owned.filter((_, i) => results[i * 3] === 0));
  }

  #lapse(channels: string[]): void {
    for (const channel of channels) if (this.#owned.delete(channel)) this.#o.onLapse(channel);
  }

  /** Renews this server's presence on every channel it follows (failures wait for the next round). */
  async #refreshPresence(): Promise<void> {
    if (this.#closed || this.#presenting || this.#o.cmd.status !== 'ready') return;
    const channels = this.#o.followed();
    if (channels.length === 0) return;
    this.#presenting = true;
    try {
      await this.#present(channels, Date.now());
    } catch {
      // Redis unreachable or full: presence is a hint for the owner's grace period; next round.
    } finally {
      this.#presenting = false;
    }
  }

  async #present(channels: string[], now: number): Promise<void> {
    const { cmd, keys, serverId, intervalMs, stats } = this.#o;
    const ttl = intervalMs * 3;
    const pipeline = cmd.pipeline();
    for (const channel of channels) pipeline.zadd(keys.followers(channel), now + ttl, serverId).pexpire(keys.followers(channel), ttl);
    stats.other += channels.length * 2;
    replies(await pipeline.exec());
  }
}
