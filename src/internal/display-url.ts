/** A URL as error messages may show it, shared by the provider adapters and the SSE client (internal). */

/**
 * The scheme, host and path of `url`: what a connection error names so the reader knows which
 * server was unreachable. The query and the fragment are dropped, and so are credentials, because
 * a URL may carry a key (`?key=…`, `https://user:token@host`) and messages end up in logs.
 *
 * @param url - an absolute URL
 * @returns e.g. `https://api.example.com/v1`, or `undefined` when `url` is not an absolute URL
 */
export function displayUrl(url: URL): string;
export function displayUrl(url: string | URL): string | undefined;
export function displayUrl(url: string | URL): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return undefined;
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
