/**
 * Loads `ioredis` (an optional peer dependency) when tokenflow has to open a connection itself,
 * for a `redis://` URL. `tokenflow/redis` imports it only as types, so importing the entry point
 * works without it, and a missing package is a `MissingDependencyError` naming the install command.
 *
 * A synchronous `require` (not `import()`): `new RedisChannelLog()` opens its connections in the
 * constructor, and the Redis hub runs on Node only, where `createRequire` exists. ioredis is
 * CommonJS, so this is the same module instance an ESM app's `import { Redis } from 'ioredis'` gets.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { MissingDependencyError } from '../errors.js';
import { isMissingPackage } from '../providers/peer.js';

/** Defined in CommonJS (the package's .cjs build), not in ES modules. */
declare const __filename: string | undefined;

let loaded: typeof Redis | undefined;

/**
 * The `Redis` class of the installed ioredis.
 *
 * @throws MissingDependencyError when ioredis is not installed
 */
export function ioredis(): typeof Redis {
  if (loaded) return loaded;
  try {
    // Resolve from this package (where npm puts its peers). The CommonJS build has `__filename`
    // (tsup's rewrite of `import.meta.url` there is never reached).
    const from = typeof __filename === 'string' ? __filename : import.meta.url;
    const module = createRequire(from)('ioredis') as { Redis: typeof Redis };
    loaded = module.Redis;
    return loaded;
  } catch (error) {
    if (isMissingPackage(error, 'ioredis')) throw new MissingDependencyError('ioredis', 'tokenflow/redis with a redis:// URL', error);
    throw error;
  }
}
