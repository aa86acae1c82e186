import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts a stand-in's server on a free port of 127.0.0.1: its endpoint, and how to stop it (open connections too). */
export async function listenLocally(server: Server): Promise<{ endpoint: string; stop(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
