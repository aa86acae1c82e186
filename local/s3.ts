import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';

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
  const { port } = (await server.run()) as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => server.close() };
}
