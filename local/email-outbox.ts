import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { listenLocally } from './listen.ts';

/** An email the service would have sent through SES. */
export interface OutboxEmail {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html?: string;
  sentAt: string;
}

/**
 * The SES stand-in: answers the SESv2 `SendEmail` call (POST /v2/email/outbound-emails)
 * that the real SDK client makes, and appends each email to a JSON-lines file instead
 * of delivering it. `GET /local/outbox` reads them back.
 */
export async function startEmailOutbox(file: string): Promise<{ endpoint: string; list(): Promise<OutboxEmail[]>; stop(): Promise<void> }> {
  await mkdir(dirname(file), { recursive: true });
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method !== 'POST' || !request.url?.startsWith('/v2/email/outbound-emails')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not supported by the local SES stand-in' }));
      return;
    }
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const simple = body.Content?.Simple;
      const email: OutboxEmail = {
        messageId: randomUUID(),
        from: body.FromEmailAddress,
        to: body.Destination?.ToAddresses ?? [],
        subject: simple?.Subject?.Data ?? '',
        text: simple?.Body?.Text?.Data ?? '',
        html: simple?.Body?.Html?.Data,
        sentAt: new Date().toISOString(),
      };
      await appendFile(file, `${JSON.stringify(email)}\n`);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ MessageId: email.messageId }));
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Bad SendEmail request' }));
    }
  });
  const { endpoint, stop } = await listenLocally(server);
  return {
    endpoint,
    stop,
    async list() {
      const text = await readFile(file, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OutboxEmail)
        .reverse();
    },
  };
}
