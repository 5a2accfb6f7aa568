/**
 * tokenflow/redis: the `StreamHub` on Redis Streams for many servers. Any server follows, resumes
 * and stops any channel; the upstream request runs once, on the server that published it. Needs
 * `ioredis` (an optional peer dependency) and a single Redis primary (6.2 or newer).
 *
 * @packageDocumentation
 */
export { RedisStreamHub, type RedisStreamHubOptions } from './hub.js';
export { RedisChannelLog, type RedisChannelLogOptions, type RedisLogStats } from './log.js';
