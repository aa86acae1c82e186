// Deterministic CRM-like data for the benchmarks: 20 properties per record, realistic
// widths, ~15% blanks, and the values that make CSV quoting work (commas, quotes,
// line breaks, non-ASCII).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { CrmRecord } from '#core/model.ts';
import { encodeCsvHeader, encodeCsvRows } from '#core/csv/csv-rows.ts';

export const PROPERTY_NAMES = [
  'firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company', 'jobtitle', 'address', 'city', 'state',
  'zip', 'country', 'website', 'lifecyclestage', 'lead_status', 'createdate', 'lastmodifieddate', 'annualrevenue', 'notes', 'owner_email',
];

const FIRST = ['Ana', 'João', 'Zoë', 'Miguel', 'Ingrid', 'Wei', 'Aisha', 'Lars', 'Sofía', 'Kenji', 'Olu', 'Chloé'];
const LAST = ['Silva', 'Müller', "O'Brien", 'Nakamura', 'García', 'Okafor', 'Nguyen', 'Smith', 'Kowalski', 'Dubois'];
const CITY = ['Lisboa', 'São Paulo', 'Zürich', 'New York', 'Kraków', 'Lagos', 'Tōkyō', 'Berlin'];
const STAGE = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer'];
const NOTES = [
  'Met at the expo, wants a demo',
  'Called twice, "not now", try Q3',
  'Renewal due; discount approved by Ana, 10%',
  'Prefers email.\nDo not call before 10am',
  'VIP 🚀 — handle with care',
  '',
];

/** A small PRNG: the same seed gives the same data on every machine. */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** A pool of distinct records to cycle through (the encoders see realistic variety). */
export function recordPool(size: number, seed = 42): CrmRecord[] {
  const next = random(seed);
  const pick = <T>(values: T[]) => values[Math.floor(next() * values.length)]!;
  const blank = (value: string) => (next() < 0.15 ? '' : value);
  const records: CrmRecord[] = [];
  for (let index = 0; index < size; index++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const day = String(1 + Math.floor(next() * 28)).padStart(2, '0');
    const properties: Record<string, string> = {
      firstname: first,
      lastname: last,
      email: `${first}.${last}${index}@example.com`.toLowerCase().replace(/[^a-z0-9.@]/g, ''),
      phone: blank(`+351 21 ${Math.floor(next() * 1e7)}`),
      mobilephone: blank(`+1 (555) ${Math.floor(next() * 1e7)}`),
      company: blank(`${pick(LAST)} ${pick(['Lda', 'GmbH', 'Inc.', 'S.A.', 'KK'])}`),
      jobtitle: blank(pick(['CEO', 'Head of Sales', 'Engineer, Platform', 'Buyer', 'CFO'])),
      address: blank(`${Math.floor(next() * 999)} ${pick(['Rua Augusta', 'Main St', 'Bahnhofstraße', 'ul. Długa'])}`),
      city: blank(pick(CITY)),
      state: blank(pick(['', 'NY', 'SP', 'ZH', 'MZ'])),
      zip: blank(String(Math.floor(next() * 99999)).padStart(5, '0')),
      country: blank(pick(['Portugal', 'Brazil', 'Switzerland', 'United States', 'Poland', 'Nigeria', 'Japan'])),
      website: blank(`https://www.${last.toLowerCase().replace(/[^a-z]/g, '')}.example`),
      lifecyclestage: pick(STAGE),
      lead_status: blank(pick(['NEW', 'OPEN', 'IN_PROGRESS', 'CONNECTED', 'BAD_TIMING'])),
      createdate: `2025-${String(1 + Math.floor(next() * 12)).padStart(2, '0')}-${day}T10:${day}:00.000Z`,
      lastmodifieddate: `2026-11-${day}T08:15:${day}.000Z`,
      annualrevenue: blank((next() * 1e7).toFixed(2)),
      notes: pick(NOTES),
      owner_email: pick(['ana@acme.example', 'li@acme.example', 'sam@acme.example']),
    };
    records.push({ id: String(index), properties });
  }
  return records;
}

/** Records `from … from+count-1`, cycling through the pool with fresh ids. */
export function* recordPages(pool: CrmRecord[], count: number, pageSize = 1000): Generator<CrmRecord[]> {
  for (let from = 0; from < count; from += pageSize) {
    const page: CrmRecord[] = [];
    for (let index = from; index < Math.min(count, from + pageSize); index++) {
      page.push({ id: String(100_000_000 + index), properties: pool[index % pool.length]!.properties });
    }
    yield page;
  }
}

/** Writes a backup CSV of `rows` records (the export's own dialect) to `path`. */
export async function writeCsvFile(path: string, rows: number, seed: number): Promise<number> {
  const out = createWriteStream(path);
  const pool = recordPool(5000, seed);
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(encodeCsvHeader(PROPERTY_NAMES));
  for (const page of recordPages(pool, rows)) await write(encodeCsvRows(page, PROPERTY_NAMES));
  out.end();
  await once(out, 'finish');
  return bytes;
}

/** What one side of a compare fixture holds, as a backup manifest lists it. */
export interface FixtureCsv {
  path: string;
  records: number;
  bytes: number;
  sha256: string;
}

/**
 * Two backup CSVs of the same object type for the compare bench: `rows` records, then
 * the same records with every 100th removed, the city changed on every 50th (of those
 * kept), and rows/100 new ones. Answers both files and the counts a comparison must find.
 */
export async function writeComparedCsvs(fromPath: string, toPath: string, rows: number, seed: number): Promise<{ from: FixtureCsv; to: FixtureCsv; expected: { added: number; removed: number; changed: number } }> {
  const pool = recordPool(5000, seed);
  const open = (path: string) => {
    const out = createWriteStream(path);
    const hash = createHash('sha256');
    const file = { path, records: 0, bytes: 0, sha256: '' };
    return {
      file,
      async write(text: string, records: number) {
        file.bytes += Buffer.byteLength(text);
        file.records += records;
        hash.update(text);
        if (!out.write(text)) await once(out, 'drain');
      },
      async end() {
        out.end();
        await once(out, 'finish');
        file.sha256 = hash.digest('hex');
        return file;
      },
    };
  };
  const from = open(fromPath);
  const to = open(toPath);
  const header = encodeCsvHeader(PROPERTY_NAMES);
  await from.write(header, 0);
  await to.write(header, 0);
  const expected = { added: 0, removed: 0, changed: 0 };
  let index = 0;
  for (const page of recordPages(pool, rows)) {
    const kept: CrmRecord[] = [];
    for (const record of page) {
      index += 1;
      if (index % 100 === 0) {
        expected.removed += 1;
        continue;
      }
      if (index % 50 === 1) {
        expected.changed += 1;
        kept.push({ id: record.id, properties: { ...record.properties, city: `${record.properties.city ?? ''} (moved)` } });
      } else kept.push(record);
    }
    await from.write(encodeCsvRows(page, PROPERTY_NAMES), page.length);
    await to.write(encodeCsvRows(kept, PROPERTY_NAMES), kept.length);
  }
  const added = Math.floor(rows / 100);
  for (let from = 0; from < added; from += 1000) {
    const page = Array.from({ length: Math.min(1000, added - from) }, (_, offset) => ({ id: `9${String(from + offset).padStart(9, '0')}`, properties: pool[(from + offset) % pool.length]!.properties }));
    await to.write(encodeCsvRows(page, PROPERTY_NAMES), page.length);
  }
  expected.added = added;
  return { from: await from.end(), to: await to.end(), expected };
}
