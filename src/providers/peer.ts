/**
 * Loading the optional peer packages (the provider SDKs, ioredis): a package that is not installed
 * becomes a {@link MissingDependencyError} naming it and its install command, instead of the
 * loader's raw `ERR_MODULE_NOT_FOUND` (ESM) or `Cannot find module` (CommonJS).
 *
 * Each adapter keeps its own literal `import('openai')`: bundlers only follow literal specifiers,
 * and one shared table of all SDKs would make a bundler resolve every SDK for any one adapter.
 */
import { MissingDependencyError } from '../errors.js';
import { noteRequestTarget } from './sdk-errors.js';

/**
 * `true` when `error` says that `packageName` itself could not be found: not a module inside it
 * (a broken install of the SDK is reported as it is, not as a missing SDK).
 */
export function isMissingPackage(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const message = error instanceof Error ? error.message : '';
  // ESM: "Cannot find package 'openai' imported from …"; CommonJS: "Cannot find module 'openai'".
  return message.includes(`'${packageName}'`);
}

/**
 * Runs `load` (a literal dynamic import of `packageName`) and turns "not installed" into a
 * {@link MissingDependencyError} for `entry`.
 */
export async function loadPeer<T>(packageName: string, entry: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, packageName)) throw new MissingDependencyError(packageName, entry, error);
    throw error;
  }
}

/**
 * An SDK client created once its SDK has loaded, or the one the user passed (used as it is, with no
 * loading at all: whoever constructed it has the SDK). The load starts when the adapter is created,
 * so the first request does not wait for it; a failed load is reported by the first request.
 */
export function sdkClient<Client>(load: () => Promise<Client>): Promise<Client> {
  const client = load();
  // Nobody may ever send a request: a missing SDK must then not crash the process as an
  // unhandled rejection. Requests still see the rejection through `client` itself.
  client.catch(() => {});
  return client;
}

/** Calls `call` with the client: at once for a ready client, after the SDK loaded otherwise. */
export function withClient<Client, R>(client: Client | Promise<Client>, call: (client: Client) => Promise<R>): Promise<R> {
  // A failed call remembers the client's URL, so that a connection error can name the server.
  const send = (c: Client): Promise<R> =>
    call(c).catch((error: unknown) => {
      noteRequestTarget(error, c);
      throw error;
    });
  return client instanceof Promise ? client.then(send) : send(client);
}
