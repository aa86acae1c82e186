import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerRow, recordRows } from '../../support/csv-oracle.ts';
import { encodeCsvHeader, encodeCsvRows } from '#core/csv/csv-rows.ts';

const NAMES = ['firstname', 'notes', 'email'];
// Strings rich in the characters that decide quoting.
const value = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom(',', '"', '\r', '\n', ' ', 'a', '=', 'é', '🚀') }),
);
const records = fc.array(
  fc.record({ id: fc.string({ minLength: 1 }), properties: fc.dictionary(fc.constantFrom(...NAMES), value) }),
  { maxLength: 20 },
);

describe('encodeCsvRows', () => {
  it('writes exactly what csv-stringify writes in the backup dialect', () => {
    fc.assert(
      fc.property(records, (page) => {
        expect(encodeCsvRows(page, NAMES)).toBe(recordRows(page, NAMES));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips through a real CSV parser, blanks included', () => {
    fc.assert(
      fc.property(records, (page) => {
        const text = encodeCsvHeader(NAMES) + encodeCsvRows(page, NAMES);
        const [header, ...rows] = parse(text) as string[][];
        expect(header).toEqual(['id', ...NAMES]);
        expect(rows).toEqual(page.map((record) => [record.id, ...NAMES.map((name) => record.properties[name] ?? '')]));
      }),
    );
  });

  it('writes the same header row as csv-stringify', () => {
    expect(encodeCsvHeader(['a', 'b,c', 'd"e'])).toBe(headerRow(['a', 'b,c', 'd"e']));
  });
});
