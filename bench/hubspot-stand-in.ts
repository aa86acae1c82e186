/**
 * `node bench/hubspot-stand-in.ts [--contacts 100000]`: how fast the HubSpot stand-in
 * seeds contacts and serves list pages, so a backup benchmark through it knows the
 * stand-in is not what it measures. Pages through every contact with all properties,
 * 100 per page, over HTTP with the rate limit lifted, and compares the first and the
 * last pages (paging must cost the same at any depth).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_PORTAL_ID, seedContacts, seedDemoPortal } from '../local/hubspot/demo-portal.ts';
import { serveStandInAlone } from '../local/hubspot/serve-alone.ts';
import { HubSpotStandIn } from '../local/hubspot/stand-in.ts';
import { peakRssMb } from './peak-rss.ts';

const { values } = parseArgs({ options: { contacts: { type: 'string' } } });
const contacts = Number(values.contacts ?? 100_000);
const dataDir = await mkdtemp(join(tmpdir(), 'hubspot-bench-'));
const standIn = HubSpotStandIn.open(dataDir);
try {
  const { accessToken } = seedDemoPortal(standIn, { recordsPerType: 1, limits: { perWindow: 1_000_000_000, daily: 1_000_000_000 } });
  let started = performance.now();
  seedContacts(standIn, DEMO_PORTAL_ID, contacts - 1);
  const seedSeconds = (performance.now() - started) / 1000;
  const properties = standIn.objectTypes(DEMO_PORTAL_ID).find((type) => type.name === 'contacts')!.properties.filter((property) => !property.archived).map((property) => property.name);

  const { baseUrl, close } = await serveStandInAlone(standIn);
  const pageTimes: number[] = [];
  let records = 0;
  let bytes = 0;
  let after: string | undefined;
  started = performance.now();
  do {
    const pageStarted = performance.now();
    const query = new URLSearchParams({ limit: '100', ...(after ? { after } : {}) });
    for (const name of properties) query.append('properties', name);
    const response = await fetch(`${baseUrl}/crm/v3/objects/contacts?${query}`, { headers: { authorization: `Bearer ${accessToken}` } });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`page answered ${response.status}: ${text}`);
    const page = JSON.parse(text) as { results: unknown[]; paging?: { next?: { after: string } } };
    records += page.results.length;
    bytes += text.length;
    after = page.paging?.next?.after;
    pageTimes.push(performance.now() - pageStarted);
  } while (after);
  const seconds = (performance.now() - started) / 1000;
  await close();
  const mean = (times: number[]) => times.reduce((sum, time) => sum + time, 0) / times.length;
  console.log(
    JSON.stringify(
      {
        contacts: records,
        properties: properties.length,
        seed: { seconds: +seedSeconds.toFixed(1), recordsPerSecond: Math.round(contacts / seedSeconds) },
        listPages: {
          pages: pageTimes.length,
          pagesPerSecond: Math.round(pageTimes.length / seconds),
          recordsPerSecond: Math.round(records / seconds),
          meanPageMs: +mean(pageTimes).toFixed(2),
          first10PagesMs: +mean(pageTimes.slice(0, 10)).toFixed(2),
          last10PagesMs: +mean(pageTimes.slice(-10)).toFixed(2),
          kbPerPage: Math.round(bytes / pageTimes.length / 1024),
        },
        // At Professional's 190 requests per 10 s a backup asks for 19 pages a second.
        headroomOverProfessionalBudget: +(pageTimes.length / seconds / 19).toFixed(1),
        peakRssMb: peakRssMb(),
      },
      null,
      2,
    ),
  );
} finally {
  standIn.close();
  await rm(dataDir, { recursive: true, force: true });
}
