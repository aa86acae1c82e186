import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';
import { LOCAL_CREDENTIALS } from '#runtime/clients.ts';
import { enableDurableWrites } from './s3-durable-writes.ts';
import { enableUploadPartCopy } from './s3-part-copy.ts';
import { requireSignatures, type S3Credentials } from './s3-signatures.ts';

/**
 * The S3 stand-in: s3rver keeping objects as files under `directory`, behind a SigV4
 * check of every request (s3rver checks none), so that only the service's clients and
 * the presigned URLs it hands out get in, as on AWS.
 */
export async function startS3(
  directory: string,
  bucket: string,
  credentials: S3Credentials = { ...LOCAL_CREDENTIALS, region: 'us-east-1' },
): Promise<{ endpoint: string; stop(): Promise<void> }> {
  await mkdir(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  // s3rver answers writes before their files are complete; S3 is read-after-write consistent.
  enableDurableWrites(server, `${directory}.incoming`);
  // s3rver lacks UploadPartCopy, which the zip stage assembles backups with.
  enableUploadPartCopy(server);
  // Installed last, so it runs first: nothing reaches s3rver or the extension unsigned.
  requireSignatures(server, credentials);
  const { port } = (await server.run()) as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => server.close() };
}
