import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildWebAssets, type WebAsset } from '../web/build.ts';
import { contentSecurityPolicy } from '../web/content-security-policy.ts';
import type { WebConfig } from '../web/src/auth.ts';
import type { LocalRoute } from './http-server.ts';

/** Paths the page never owns: the API and the local-only helpers. */
const NOT_THE_PAGE = /^\/(v1|local)(\/|$)/;

/**
 * Serves the admin web page from the same origin as the API, like CloudFront does in
 * AWS: the built files by path, `/config.json` (the page's own WebConfig; "local" by
 * default, so the page offers the demo users), and index.html for every other GET
 * that a browser navigates to (`/backups/{id}` from an email link), so the page's own
 * router picks it up. The page is built in memory once, on the first request.
 */
export function webPageRoute(config: WebConfig = { apiUrl: '', mode: 'local' }): LocalRoute {
  let built: Promise<Map<string, WebAsset>> | undefined;
  const assets = () => {
    built ??= buildWebAssets().then((list) => new Map(list.map((asset) => [asset.path, asset])));
    // A failed build should be retried on the next request, not cached forever.
    built.catch(() => (built = undefined));
    return built;
  };
  // The policy CloudFront sends: the page may call only its own origin, plus the API and Cognito when they live elsewhere.
  const policy = contentSecurityPolicy([config.apiUrl, config.cognitoDomain].filter((url): url is string => !!url).map((url) => new URL(url).origin));
  return async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (NOT_THE_PAGE.test(path)) return false;
    if (path === '/config.json') {
      write(response, request, 200, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(config)), 'no-store', policy);
      return true;
    }
    const files = await assets();
    const asset = files.get(path);
    if (asset) {
      write(response, request, 200, asset.contentType, asset.body, 'no-cache', policy);
      return true;
    }
    // A missing file with an extension is a real 404; anything else is a page route.
    if (/\.[a-z0-9]+$/i.test(path)) {
      write(response, request, 404, 'text/plain; charset=utf-8', Buffer.from('Not found'), 'no-store', policy);
      return true;
    }
    const index = files.get('/index.html')!;
    write(response, request, 200, index.contentType, index.body, 'no-cache', policy);
    return true;
  };
}

function write(response: ServerResponse, request: IncomingMessage, status: number, contentType: string, body: Buffer, cache: string, policy: string): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': String(body.length),
    'cache-control': cache,
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}
