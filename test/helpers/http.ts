/**
 * A test server on 127.0.0.1: listens on a free port and closes with its open connections (SSE
 * responses never end by themselves), so every test file starts and stops its servers the same way.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening server: its origin (`http://127.0.0.1:PORT`) and how to close it. */
export interface LocalServer {
  origin: string;
  close(): Promise<void>;
}

/** Listens on a free port on 127.0.0.1. */
export async function listenLocal(server: Server): Promise<LocalServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
