import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { ArchiveIntegrityError } from '../errors.ts';

/**
 * Reads an object type's backup CSV (API.md, "The zip": header = `id` then property
 * names, one row per record) row by row; memory holds one row at a time. The header
 * comes first, checked to start with `id`. A CSV that does not parse, or has no header,
 * is damage (ArchiveIntegrityError): we wrote it, and its bytes decompressed.
 */
export async function* readBackupCsv(csv: Readable, objectType: string): AsyncGenerator<string[]> {
  const parser = csv.pipe(parse({ relax_column_count: false, bom: true }));
  csv.once('error', (error) => parser.destroy(error));
  let header = true;
  try {
    for await (const row of parser as AsyncIterable<string[]>) {
      if (header) {
        if (row[0] !== 'id') throw new ArchiveIntegrityError(`The backup's ${objectType} CSV does not start with an id column.`);
        header = false;
      }
      yield row;
    }
  } catch (error) {
    throw asDamage(error, objectType);
  } finally {
    csv.destroy();
  }
  if (header) throw new ArchiveIntegrityError(`The backup's ${objectType} CSV is empty.`);
}

function asDamage(error: unknown, objectType: string): unknown {
  // A checksum failure surfaces through the parser: keep its own, clearer error.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof ArchiveIntegrityError) return cause;
  // A row that does not parse is damage the SHA-256 would catch at the end of the file:
  // say so now rather than fail with a 500.
  if (error instanceof CsvError) return new ArchiveIntegrityError(`The backup's ${objectType} CSV is damaged: ${error.message}`, { cause: error });
  return error;
}
