/**
 * `RedisStreamHub`: a `StreamHub` whose channels live in Redis Streams, so any server can follow,
 * resume or stop any channel.
 */
import { InvalidArgumentError } from '../errors.js';
import { readOptions } from '../operators/internal.js';
import { StreamHub, type StreamHubOptions } from '../sse/hub.js';
import { RedisChannelLog, type RedisChannelLogOptions } from './log.js';

/** Options of `new RedisStreamHub()`: the hub's (but `log`) and the Redis log's (but `ttlMs`, which is the hub's). */
export interface RedisStreamHubOptions extends Omit<StreamHubOptions, 'log'>, Omit<RedisChannelLogOptions, 'ttlMs'> {}

/** The log's own options (`ttlMs` is the hub's, passed on to the log). */
const LOG_KEYS = ['redis', 'prefix', 'maxLen', 'leaseMs', 'idleTtlMs'] as const satisfies readonly (keyof RedisChannelLogOptions)[];
/**
 * Every `StreamHubOptions` key but `log`. The `satisfies` makes a hub option added or removed
 * without this list a type error here, so the Redis hub never refuses an option the hub takes.
 */
const HUB_KEYS = Object.keys({
  ttlMs: true,
  graceMs: true,
  heartbeatMs: true,
  retryMs: true,
  maxBufferedBytes: true,
  batchMs: true,
  authorize: true,
  onDrop: true,
  onError: true,
  telemetry: true,
} satisfies Record<Exclude<keyof StreamHubOptions, 'log'>, true>);

/**
 * The `StreamHub` on Redis Streams: the same interface and the same guarantees, across servers.
 * The upstream request runs on the server where `publish` was called; any server serves followers
 * and resumes from `Last-Event-ID`; `stop` on any server cancels the upstream on its owner; if the
 * owner dies mid-answer, followers get an `error` event with reason `lost` within about `leaseMs`.
 *
 * @example
 * import { Redis } from 'ioredis';
 * const hub = new RedisStreamHub({ redis: new Redis(process.env.REDIS_URL) });
 * await hub.publish(channel, llm.stream(request), { meta: { userId } });   // on server A
 * http.createServer(hub.handler()).listen(8080);                           // on every server
 */
export class RedisStreamHub extends StreamHub {
  /** The Redis channel log under this hub (its `serverId` and command `stats` are there). */
  readonly log: RedisChannelLog;
  readonly #leaseMs: number;

  /**
   * @throws InvalidArgumentError for a missing `redis`, an unknown option, or a bad value.
   */
  constructor(options: RedisStreamHubOptions) {
    const { log, hubOptions } = split(options);
    super({ ...hubOptions, log });
    this.log = log;
    this.#leaseMs = (options.leaseMs as number | undefined) ?? 10_000;
  }

  /**
   * Stops the upstreams running on this server (their followers everywhere get reason `stopped`),
   * ends this server's followers and closes the hub's Redis connections. Waits at most about
   * `leaseMs` for Redis to take the last writes.
   */
  override async close(): Promise<void> {
    const closing = super.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(resolve, this.#leaseMs)))]);
    clearTimeout(timer);
    await this.log.close();
    await closing.catch(() => {});
  }
}

function split(options: RedisStreamHubOptions): { log: RedisChannelLog; hubOptions: StreamHubOptions } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError('options', 'new RedisStreamHub(): options are required, with at least { redis } (an ioredis client or a redis:// URL).');
  }
  if ('log' in options) {
    throw new InvalidArgumentError('options.log', 'new RedisStreamHub(): the log is Redis; to pass your own ChannelLog, use new StreamHub({ log }).');
  }
  readOptions(options, 'new RedisStreamHub', [...HUB_KEYS, ...LOG_KEYS]);
  const logOptions: Record<string, unknown> = {};
  const hubOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if ((LOG_KEYS as readonly string[]).includes(key)) logOptions[key] = value;
    else hubOptions[key] = value;
  }
  // The hub validates its own options (and names unknown ones) when constructed; build the log
  // only once they are known to be good, so a bad option opens no connection.
  new StreamHub({ ...(hubOptions as StreamHubOptions), log: NO_LOG });
  if (hubOptions.ttlMs !== undefined) logOptions.ttlMs = hubOptions.ttlMs;
  return { log: new RedisChannelLog(logOptions as unknown as RedisChannelLogOptions), hubOptions: hubOptions as StreamHubOptions };
}

/** A log that is never used: lets the hub validate its options without opening anything. */
const NO_LOG = {
  create: () => Promise.resolve(false),
  append: () => Promise.resolve(),
  read: () => Promise.resolve(undefined),
  info: () => Promise.resolve(undefined),
  watch: () => () => {},
  expire: () => Promise.resolve(),
  close: () => Promise.resolve(),
};
