import yauzl from 'yauzl';

/**
 * Every entry of a zip, unpacked, by name (test archives only: small and trusted).
 * Rejects on a damaged archive or entry rather than hanging until the test times out.
 */
export async function unzipEntries(zip: Buffer): Promise<Map<string, Buffer>> {
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened!))),
  );
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    file.on('entry', (entry: yauzl.Entry) => {
      file.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        try {
          const chunks: Buffer[] = [];
          for await (const chunk of stream!) chunks.push(chunk as Buffer);
          entries.set(entry.fileName, Buffer.concat(chunks));
          file.readEntry();
        } catch (streamError) {
          reject(streamError);
        }
      });
    });
    file.on('end', () => resolve());
    file.on('error', reject);
    file.readEntry();
  });
  return entries;
}
