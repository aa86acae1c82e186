import type { Options } from 'csv-stringify';
import { stringify } from 'csv-stringify/sync';
import type { CrmRecord } from '#core/model.ts';

/**
 * The backup CSV dialect: UTF-8, RFC 4180 (comma, double quotes, CRLF between rows).
 * Values containing a lone CR or LF are quoted too: csv-stringify would otherwise
 * quote only the exact CRLF sequence, and a parser would split the row.
 * Values are written exactly as stored (no escaping of leading `=`, `+`, `-`, `@`):
 * a backup must restore byte for byte; docs/backups.md says how to open it in a spreadsheet.
 */
export const CSV_OPTIONS: Options = { record_delimiter: 'windows', quoted_match: /[\r\n]/ };

/** The header row: `id`, then every property's internal name in definition order. */
export function headerRow(propertyNames: string[]): string {
  return stringify([['id', ...propertyNames]], CSV_OPTIONS);
}

/** Rows for a page of records, as one string; a missing value is a blank field. */
export function recordRows(records: CrmRecord[], propertyNames: string[]): string {
  return stringify(
    records.map((record) => [record.id, ...propertyNames.map((name) => record.properties[name] ?? '')]),
    CSV_OPTIONS,
  );
}
