import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { ApiEvent } from '#runtime/http.ts';

/** How the local HTTP server reaches an API Lambda: by name, with an API Gateway v2 event. */
export type InvokeApiFunction = (functionName: string, event: ApiEvent) => Promise<APIGatewayProxyResultV2>;

/** Extra paths served only locally (`/local/...`, the web page); answer false to pass. */
export type LocalRoute = (request: IncomingMessage, response: ServerResponse, body: Buffer) => Promise<boolean>;

export interface LocalHttpServerOptions {
  port: number;
  routes: Record<string, string>;
  invoke: InvokeApiFunction;
  /** Verifies a bearer token like API Gateway's JWT authorizer; throws when invalid. */
  verifyToken: (token: string) => Promise<Record<string, string>>;
  localRoutes: LocalRoute[];
}

/** API Gateway rejects larger payloads before any Lambda runs (HTTP API: 10 MB). */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/**
 * The API Gateway stand-in: matches the request to a route key, verifies the bearer
 * token, and hands the same payload-v2 event that API Gateway builds to the same
 * handler Lambda runs; then writes the handler's result back as HTTP.
 */
export async function startHttpServer(options: LocalHttpServerOptions): Promise<{ url: string; server: Server }> {
  const matchers = Object.entries(options.routes).map(([routeKey, functionName]) => ({ routeKey, functionName, ...compile(routeKey) }));
  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      if (body === undefined) return send(response, 413, apiError('PAYLOAD_TOO_LARGE', 'The request body is too large.'));
      for (const route of options.localRoutes) if (await route(request, response, body)) return;
      const url = new URL(request.url ?? '/', 'http://localhost');
      const method = request.method ?? 'GET';
      const match = findRoute(matchers, method, url.pathname);
      if (!match) return send(response, 404, apiError('NOT_FOUND', `No such endpoint: ${method} ${url.pathname}`));
      const claims = await authorize(request, options.verifyToken);
      if (!claims) return send(response, 401, apiError('UNAUTHORIZED', 'Sign in first: this call needs a valid bearer token.'));
      const event = toApiGatewayEvent(request, url, body, match.route.routeKey, match.params, claims);
      const result = await options.invoke(match.route.functionName, event);
      writeResult(response, result);
    } catch (error) {
      console.error('[local] request failed:', error);
      if (!response.headersSent) send(response, 500, apiError('INTERNAL_ERROR', 'Something went wrong on our side.'));
    }
  });
  // Requests Node refuses before any handler (a request line and headers over its 16 KB,
  // malformed HTTP) get the API's error shape too, not Node's bare status line.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify(
      tooLarge
        ? apiError('REQUEST_TOO_LARGE', 'The request line and headers are larger than 16 KB; send long values in a body.')
        : apiError('BAD_REQUEST', 'The request is not valid HTTP.'),
    );
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://localhost:${port}`, server };
}

interface CompiledRoute {
  routeKey: string;
  functionName: string;
  method: string;
  pattern: RegExp;
  names: string[];
}

function compile(routeKey: string): { method: string; pattern: RegExp; names: string[] } {
  const [method, path] = routeKey.split(' ') as [string, string];
  const names: string[] = [];
  const pattern = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${pattern}$`), names };
}

function findRoute(routes: CompiledRoute[], method: string, path: string) {
  for (const route of routes) {
    if (route.method !== method) continue;
    const found = route.pattern.exec(path);
    if (!found) continue;
    try {
      const params = Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(found[index + 1]!)]));
      return { route, params };
    } catch {
      return undefined; // malformed percent-encoding: no route matches it
    }
  }
  return undefined;
}

async function authorize(request: IncomingMessage, verify: (token: string) => Promise<Record<string, string>>) {
  const header = request.headers.authorization ?? '';
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) return undefined;
  try {
    return await verify(token);
  } catch {
    return undefined;
  }
}

function toApiGatewayEvent(
  request: IncomingMessage,
  url: URL,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string>,
  claims: Record<string, string>,
): ApiEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  // A Map, then fromEntries: `query[name] =` would set the prototype for `?__proto__=` and
  // find an inherited `constructor`, where API Gateway's JSON gives plain own keys.
  const joined = new Map<string, string>();
  for (const [name, value] of url.searchParams) joined.set(name, joined.has(name) ? `${joined.get(name)},${value}` : value);
  const query: Record<string, string> = Object.fromEntries(joined);
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined,
    body: body.length ? body.toString('utf8') : undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } },
    },
  } as ApiEvent;
}

function writeResult(response: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string') return send(response, 200, result);
  const headers = { ...(result.headers ?? {}) } as Record<string, string>;
  const body = result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  response.writeHead(result.statusCode ?? 200, { ...headers, ...(result.cookies?.length ? { 'set-cookie': result.cookies } : {}) });
  response.end(body);
}

/** Reads the whole body, or answers undefined once it passes API Gateway's limit. */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(text);
}

export function apiError(code: string, message: string) {
  return { error: { code, message } };
}

/** A Lambda context for a local invocation with the function's real time budget. */
export function lambdaContext(functionName: string, timeoutSeconds: number, memoryMb: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
