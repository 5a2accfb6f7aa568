/**
 * Thin bindings of `StreamHub` for Express, Fastify and Hono, typed structurally so that tokenflow
 * depends on none of them. Route them with a `:channel` parameter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import type { StreamHub } from './hub.js';

function requireHub(hub: unknown, fn: string): StreamHub {
  if (typeof hub !== 'object' || hub === null || typeof (hub as Partial<StreamHub>).handler !== 'function') {
    throw new InvalidArgumentError('hub', `${fn}(): the argument must be a StreamHub.`);
  }
  return hub as StreamHub;
}

/**
 * An Express handler (4 or 5) for `app.get` and `app.post` on a route with `:channel`.
 *
 * @example
 * app.get('/streams/:channel', forExpress(hub));
 * app.post('/streams/:channel/stop', forExpress(hub));
 */
export function forExpress(hub: StreamHub): (
  req: IncomingMessage & { params?: Record<string, string | undefined> },
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void {
  const handle = requireHub(hub, 'forExpress').handler();
  return (req, res, next) => {
    handle(req, res, req.params?.channel).catch(next);
  };
}

/**
 * A Fastify handler for a route with `:channel`: it takes the response over (`reply.hijack()`)
 * and streams on the raw Node objects.
 *
 * @example
 * fastify.get('/streams/:channel', forFastify(hub));
 * fastify.post('/streams/:channel/stop', forFastify(hub));
 */
export function forFastify(hub: StreamHub): (
  request: { raw: IncomingMessage; params?: unknown },
  reply: { raw: ServerResponse; hijack(): void },
) => Promise<void> {
  const handle = requireHub(hub, 'forFastify').handler();
  return async (request, reply) => {
    reply.hijack();
    const params = request.params as Record<string, string | undefined> | undefined;
    await handle(request.raw, reply.raw, params?.channel);
  };
}

/**
 * A Hono handler for a route with `:channel` (any runtime Hono runs on).
 *
 * @example
 * app.get('/streams/:channel', forHono(hub));
 * app.post('/streams/:channel/stop', forHono(hub));
 */
export function forHono(hub: StreamHub): (c: { req: { raw: Request; param(name: string): string | undefined } }) => Promise<Response> {
  const checked = requireHub(hub, 'forHono');
  return (c) => {
    const channel = c.req.param('channel');
    return checked.fetch(c.req.raw, channel === undefined ? {} : { channel });
  };
}
