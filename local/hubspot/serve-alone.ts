import { startHttpServer } from '../http-server.ts';
import { HUBSPOT_PATH_PREFIX, type HubSpotStandIn } from './stand-in.ts';

/**
 * Serves a stand-in on its own port through the local runtime's HTTP server (the same
 * route the runtime mounts), without the rest of the runtime: for its tests and bench.
 */
export async function serveStandInAlone(standIn: HubSpotStandIn, port = 0): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const { url, server } = await startHttpServer({
    port,
    routes: {},
    invoke: () => Promise.reject(new Error('The HubSpot stand-in serves no API functions')),
    verifyToken: () => Promise.reject(new Error('The HubSpot stand-in serves no API functions')),
    localRoutes: [standIn.route()],
  });
  return {
    baseUrl: `${url}${HUBSPOT_PATH_PREFIX}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
