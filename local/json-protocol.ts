import { createServer, type Server } from 'node:http';
import { listenLocally } from './listen.ts';

/** One operation of an AWS JSON-protocol service: the request body in, the response body out. */
export type JsonOperation = (body: Record<string, unknown>) => unknown;

/** An AWS error by its `__type`, as the SDK reads it back into an exception of that name. */
export class AwsJsonError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * A stand-in for a service the SDK reaches over the AWS JSON protocol (KMS, EventBridge,
 * Step Functions): POST / with `X-Amz-Target: <Service>.<Operation>`, a JSON body, and
 * errors as `{"__type", "message"}`. Unknown operations answer UnknownOperationException.
 */
export async function startJsonProtocolServer(
  service: string,
  operations: Record<string, JsonOperation>,
): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const contentType = request.headers['content-type'] ?? 'application/x-amz-json-1.1';
    try {
      const operation = operations[target];
      if (!operation) throw new AwsJsonError('UnknownOperationException', `The local ${service} stand-in does not support ${target}`);
      const result = await operation(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      response.writeHead(200, { 'content-type': contentType }).end(JSON.stringify(result ?? {}));
    } catch (error) {
      const { name, message } = error instanceof AwsJsonError ? error : new AwsJsonError('InternalFailure', (error as Error).message);
      response.writeHead(400, { 'content-type': contentType, 'x-amzn-errortype': name }).end(JSON.stringify({ __type: name, message }));
    }
  });
  return listenLocally(server);
}
