// Loaded with `node --import` into every anchors child process (plain JS, so it also runs without
// tsx): records, and refuses, any attempt to reach a host other than loopback. DNS lookups of a
// name other than localhost fail at once; sockets and fetches to a non-loopback address are
// reported through diagnostics channels. Every attempt is appended as one JSON line to the file
// named by BENCH_NET_LOG, which the parent reads after the run.
import dns from 'node:dns';
import diagnostics from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const logFile = process.env.BENCH_NET_LOG;
const who = process.env.BENCH_WHO ?? process.argv.slice(2).join(' ');
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

function record(kind, host) {
  const line = JSON.stringify({ kind, host: String(host), who });
  if (logFile) appendFileSync(logFile, `${line}\n`);
  else process.stderr.write(`[net-guard] ${line}\n`);
}

const refuse = (hostname) => Object.assign(new Error(`net-guard: lookup of ${hostname} refused (bench is loopback only)`), { code: 'ENOTFOUND', hostname });

const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  if (!LOOPBACK.has(hostname)) {
    record('dns.lookup', hostname);
    const cb = typeof options === 'function' ? options : callback;
    process.nextTick(() => cb(refuse(hostname)));
    return {};
  }
  return lookup.call(this, hostname, options, callback);
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async function guardedPromisesLookup(hostname, options) {
  if (!LOOPBACK.has(hostname)) {
    record('dns.promises.lookup', hostname);
    throw refuse(hostname);
  }
  return promisesLookup.call(this, hostname, options);
};
for (const method of ['resolve', 'resolve4', 'resolve6', 'resolveAny']) {
  const original = dns[method];
  dns[method] = function guardedResolve(hostname, ...rest) {
    record(`dns.${method}`, hostname);
    return original.call(this, hostname, ...rest);
  };
}

function hostOf(value) {
  try {
    return new URL(String(value)).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return String(value);
  }
}
diagnostics.subscribe('undici:request:create', ({ request }) => {
  const host = hostOf(request.origin);
  if (!LOOPBACK.has(host)) record('fetch', request.origin);
});
diagnostics.subscribe('http.client.request.start', ({ request }) => {
  const host = request.host ?? request.getHeader?.('host');
  if (host && !LOOPBACK.has(String(host).split(':')[0])) record('http.request', host);
});
// IP literals skip DNS: refuse a socket to any non-loopback address before it connects.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === 'object' && first !== null ? first : { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
  const host = options.path === undefined ? String(options.host ?? 'localhost').replace(/^\[|\]$/g, '') : undefined;
  if (host !== undefined && net.isIP(host) !== 0 && !LOOPBACK.has(host)) {
    record('socket.connect', host);
    process.nextTick(() => this.destroy(Object.assign(new Error(`net-guard: connection to ${host} refused`), { code: 'ECONNREFUSED' })));
    return this;
  }
  return connect.apply(this, args);
};
diagnostics.subscribe('net.client.socket', ({ socket }) => {
  socket?.once?.('connect', () => {
    if (socket.remoteAddress && !LOOPBACK.has(socket.remoteAddress)) record('net.connect', socket.remoteAddress);
  });
});
