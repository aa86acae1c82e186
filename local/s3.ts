import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';
import { enableUploadPartCopy } from './s3-part-copy.ts';

/** The S3 stand-in: s3rver keeping objects as files under `directory`. */
export async function startS3(directory: string, bucket: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  await mkdir(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  // s3rver lacks UploadPartCopy, which the zip stage assembles backups with.
  enableUploadPartCopy(server);
  const { port } = (await server.run()) as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => server.close() };
}
