import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { ArchiveIntegrityError, ValidationError } from '../errors.ts';
import type { ObjectType } from '../model.ts';
import type { PlannedRecord } from '../restore-model.ts';

/** One row of the backup CSV: a plan line before the comparison says whether it `differs`. */
export type BackedUpRecord = Omit<PlannedRecord, 'differs'>;

/**
 * Parses an object type's backup CSV (header: `id`, then property names) into the
 * chosen properties' values, row by row; memory holds one row at a time.
 * A CSV that does not parse is damage (ArchiveIntegrityError); a chosen property the
 * backup does not hold is the caller's mistake (ValidationError).
 */
export async function* readBackedUpRecords(csv: Readable, properties: string[], objectType: ObjectType): AsyncGenerator<BackedUpRecord> {
  const parser = csv.pipe(parse({ relax_column_count: false, bom: true }));
  csv.once('error', (error) => parser.destroy(error));
  let columns: number[] | undefined;
  try {
    for await (const row of parser as AsyncIterable<string[]>) {
      if (!columns) {
        columns = columnsOf(row, properties, objectType);
        continue;
      }
      const values: Record<string, string> = {};
      properties.forEach((name, i) => (values[name] = row[columns![i]!] ?? ''));
      yield { id: row[0]!, values };
    }
  } catch (error) {
    throw asDamage(error, objectType);
  } finally {
    csv.destroy();
  }
  if (!columns) throw new ArchiveIntegrityError(`The backup's ${objectType.name} CSV is empty.`);
}

/** Where each chosen property is in the header row. */
function columnsOf(header: string[], properties: string[], objectType: ObjectType): number[] {
  if (header[0] !== 'id') throw new ArchiveIntegrityError(`The backup's ${objectType.name} CSV does not start with an id column.`);
  return properties.map((name) => {
    const index = header.indexOf(name);
    if (index < 0) throw new ValidationError(`"${name}" is not in this backup (the property was added after it was taken).`, { field: 'properties' });
    return index;
  });
}

function asDamage(error: unknown, objectType: ObjectType): unknown {
  // A checksum failure surfaces through the parser: keep its own, clearer error.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof ArchiveIntegrityError) return cause;
  // We wrote this CSV and its bytes decompressed: a row that does not parse is damage
  // the SHA-256 would catch at the end of the file, so say so now rather than fail with a 500.
  if (error instanceof CsvError) return new ArchiveIntegrityError(`The backup's ${objectType.name} CSV is damaged: ${error.message}`, { cause: error });
  return error;
}
