import type { Readable } from 'node:stream';
import { readBackupCsv } from '../csv/backup-csv.ts';
import { ValidationError } from '../errors.ts';
import type { ObjectType } from '../model.ts';
import type { PlannedRecord } from '../restore-model.ts';

/** One row of the backup CSV: a plan line before the comparison says whether it `differs`. */
export type BackedUpRecord = Omit<PlannedRecord, 'differs'>;

/**
 * Parses an object type's backup CSV into the chosen properties' values, row by row;
 * memory holds one row at a time. A CSV that does not parse is damage
 * (ArchiveIntegrityError); a chosen property the backup does not hold is the caller's
 * mistake (ValidationError).
 */
export async function* readBackedUpRecords(csv: Readable, properties: string[], objectType: ObjectType): AsyncGenerator<BackedUpRecord> {
  let columns: number[] | undefined;
  for await (const row of readBackupCsv(csv, objectType.name)) {
    if (!columns) {
      columns = columnsOf(row, properties);
      continue;
    }
    const values: Record<string, string> = {};
    properties.forEach((name, i) => (values[name] = row[columns![i]!] ?? ''));
    yield { id: row[0]!, values };
  }
}

/** Where each chosen property is in the header row. */
function columnsOf(header: string[], properties: string[]): number[] {
  return properties.map((name) => {
    const index = header.indexOf(name);
    if (index < 0) throw new ValidationError(`"${name}" is not in this backup (the property was added after it was taken).`, { field: 'properties' });
    return index;
  });
}
