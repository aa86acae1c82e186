import { Readable } from 'node:stream';
import { StepFailedError } from '../errors.ts';
import type { SegmentDigest } from '../zip/segment-deflate.ts';
import type { BackupDeps } from './backup-deps.ts';
import { partDigestKey } from './backup-policy.ts';

/**
 * What the zip step needs to know about one part without reading it: the segment's
 * CRC-32 and sizes, and the CSV's running SHA-256 state after this part (so the
 * manifest's checksum is exact across invocations). Part 0's also names the columns.
 * Stored as a small JSON object next to the part; the export writes it, the zip reads it.
 */
export interface PartDigest extends SegmentDigest {
  sha256State: string;
  propertyNames?: string[];
}

/** Stores a part's digest next to it; a retried export overwrites it with the same content. */
export async function writePartDigest(deps: Pick<BackupDeps, 'blobs'>, accountId: string, backupId: string, objectType: string, part: number, digest: PartDigest): Promise<void> {
  await deps.blobs.upload(partDigestKey(accountId, backupId, objectType, part), Readable.from([Buffer.from(JSON.stringify(digest), 'utf8')]), {
    contentType: 'application/json',
  });
}

/**
 * A part's digest. Part 0's holds the property names of the header row: later
 * invocations write the same columns even if the definition changed since.
 */
export async function readPartDigest(deps: Pick<BackupDeps, 'blobs'>, accountId: string, backupId: string, objectType: string, part: number): Promise<PartDigest> {
  const chunks: Buffer[] = [];
  for await (const chunk of await deps.blobs.read(partDigestKey(accountId, backupId, objectType, part))) chunks.push(chunk as Buffer);
  const digest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PartDigest;
  if (part === 0 && !Array.isArray(digest.propertyNames)) throw new StepFailedError(`The header of the ${objectType} export is missing.`);
  return digest;
}
