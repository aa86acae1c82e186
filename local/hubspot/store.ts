import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { HubSpotObjectType, HubSpotThread, PortalSettings, StoredRecord, TokenGrant } from './model.ts';

/**
 * The stand-in's state in one SQLite file in DATA_DIR (Node's built-in `node:sqlite`).
 * Records are rows keyed by (portal, object type, id) with their values as one JSON
 * column, so a portal of 100,000 contacts lives on disk, not in memory; a list page is
 * one index range read of `limit + 1` rows after the cursor's id, and an edit rewrites
 * one row. Object types, tokens and settings are small and cached.
 */
export class HubSpotStore {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private readonly typeCache = new Map<number, HubSpotObjectType[]>();

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new DatabaseSync(file);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS portals (portal_id INTEGER PRIMARY KEY, settings TEXT NOT NULL, next_id INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, portal_id INTEGER NOT NULL, grant_json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS object_types (portal_id INTEGER NOT NULL, object_type_id TEXT NOT NULL, position INTEGER NOT NULL, definition TEXT NOT NULL,
        PRIMARY KEY (portal_id, object_type_id));
      CREATE TABLE IF NOT EXISTS records (portal_id INTEGER NOT NULL, object_type_id TEXT NOT NULL, id INTEGER NOT NULL, archived INTEGER NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, archived_at INTEGER, vals TEXT NOT NULL,
        PRIMARY KEY (portal_id, object_type_id, id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS records_in_state ON records (portal_id, object_type_id, archived, id);
      CREATE TABLE IF NOT EXISTS threads (portal_id INTEGER NOT NULL, id INTEGER NOT NULL, archived INTEGER NOT NULL, thread TEXT NOT NULL,
        PRIMARY KEY (portal_id, id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS threads_in_state ON threads (portal_id, archived, id);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS daily_usage (portal_id INTEGER NOT NULL, day TEXT NOT NULL, calls INTEGER NOT NULL, PRIMARY KEY (portal_id, day));
    `);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `work` in one transaction: a batch update or a seed chunk is one disk sync, not one per row. */
  transaction<T>(work: () => T): T {
    this.db.exec('BEGIN');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  getMeta(key: string): string | undefined {
    return (this.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  putMeta(key: string, value: string): void {
    this.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // Portals -------------------------------------------------------------------------

  getPortal(portalId: number): PortalSettings | undefined {
    const row = this.prepare('SELECT settings FROM portals WHERE portal_id = ?').get(portalId) as { settings: string } | undefined;
    return row ? (JSON.parse(row.settings) as PortalSettings) : undefined;
  }

  putPortal(settings: PortalSettings): void {
    this.prepare('INSERT INTO portals (portal_id, settings, next_id) VALUES (?, ?, 1) ON CONFLICT (portal_id) DO UPDATE SET settings = excluded.settings').run(
      settings.portalId,
      JSON.stringify(settings),
    );
  }

  /** Reserves `count` consecutive record ids of a portal and answers the first. */
  reserveIds(portalId: number, count: number): number {
    const row = this.prepare('UPDATE portals SET next_id = next_id + ? WHERE portal_id = ? RETURNING next_id').get(count, portalId) as { next_id: number } | undefined;
    if (!row) throw new Error(`No HubSpot portal ${portalId} in the stand-in`);
    return row.next_id - count;
  }

  // Tokens --------------------------------------------------------------------------

  getToken(token: string): TokenGrant | undefined {
    const row = this.prepare('SELECT grant_json FROM tokens WHERE token = ?').get(token) as { grant_json: string } | undefined;
    return row ? (JSON.parse(row.grant_json) as TokenGrant) : undefined;
  }

  putToken(grant: TokenGrant): void {
    this.prepare('INSERT INTO tokens (token, portal_id, grant_json) VALUES (?, ?, ?) ON CONFLICT (token) DO UPDATE SET grant_json = excluded.grant_json').run(
      grant.token,
      grant.portalId,
      JSON.stringify(grant),
    );
  }

  tokensOf(portalId: number): TokenGrant[] {
    return (this.prepare('SELECT grant_json FROM tokens WHERE portal_id = ?').all(portalId) as Array<{ grant_json: string }>).map(
      (row) => JSON.parse(row.grant_json) as TokenGrant,
    );
  }

  // Object types --------------------------------------------------------------------

  objectTypes(portalId: number): HubSpotObjectType[] {
    let types = this.typeCache.get(portalId);
    if (!types) {
      const rows = this.prepare('SELECT definition FROM object_types WHERE portal_id = ? ORDER BY position').all(portalId) as Array<{ definition: string }>;
      types = rows.map((row) => JSON.parse(row.definition) as HubSpotObjectType);
      this.typeCache.set(portalId, types);
    }
    return types;
  }

  putObjectType(portalId: number, type: HubSpotObjectType): void {
    const position = this.objectTypes(portalId).findIndex((existing) => existing.objectTypeId === type.objectTypeId);
    this.prepare(
      `INSERT INTO object_types (portal_id, object_type_id, position, definition) VALUES (?, ?, ?, ?)
       ON CONFLICT (portal_id, object_type_id) DO UPDATE SET definition = excluded.definition`,
    ).run(portalId, type.objectTypeId, position >= 0 ? position : this.objectTypes(portalId).length, JSON.stringify(type));
    this.typeCache.delete(portalId);
  }

  // Records -------------------------------------------------------------------------

  /** Up to `limit` records after id `afterId`, in id order; `archived` picks the live or the archived ones. */
  listRecords(portalId: number, objectTypeId: string, archived: boolean, afterId: number, limit: number): StoredRecord[] {
    const rows = this.prepare(
      `SELECT id, created_at, updated_at, archived_at, vals FROM records
       WHERE portal_id = ? AND object_type_id = ? AND archived = ? AND id > ? ORDER BY id LIMIT ?`,
    ).all(portalId, objectTypeId, archived ? 1 : 0, afterId, limit) as unknown as RecordRow[];
    return rows.map(fromRow);
  }

  getRecord(portalId: number, objectTypeId: string, id: number): (StoredRecord & { archived: boolean }) | undefined {
    const row = this.prepare('SELECT id, created_at, updated_at, archived_at, archived, vals FROM records WHERE portal_id = ? AND object_type_id = ? AND id = ?').get(
      portalId,
      objectTypeId,
      id,
    ) as (RecordRow & { archived: number }) | undefined;
    return row ? { ...fromRow(row), archived: row.archived === 1 } : undefined;
  }

  insertRecord(portalId: number, objectTypeId: string, record: StoredRecord): void {
    this.prepare('INSERT INTO records (portal_id, object_type_id, id, archived, created_at, updated_at, archived_at, vals) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      portalId,
      objectTypeId,
      record.id,
      record.archivedAt === undefined ? 0 : 1,
      record.createdAt,
      record.updatedAt,
      record.archivedAt ?? null,
      JSON.stringify(record.values),
    );
  }

  updateRecordValues(portalId: number, objectTypeId: string, id: number, values: Record<string, string>, updatedAt: number): void {
    this.prepare('UPDATE records SET vals = ?, updated_at = ? WHERE portal_id = ? AND object_type_id = ? AND id = ?').run(
      JSON.stringify(values),
      updatedAt,
      portalId,
      objectTypeId,
      id,
    );
  }

  archiveRecord(portalId: number, objectTypeId: string, id: number, archivedAt: number): void {
    this.prepare('UPDATE records SET archived = 1, archived_at = ? WHERE portal_id = ? AND object_type_id = ? AND id = ? AND archived = 0').run(
      archivedAt,
      portalId,
      objectTypeId,
      id,
    );
  }

  countRecords(portalId: number, objectTypeId: string, archived = false): number {
    const row = this.prepare('SELECT count(*) AS n FROM records WHERE portal_id = ? AND object_type_id = ? AND archived = ?').get(portalId, objectTypeId, archived ? 1 : 0) as {
      n: number;
    };
    return row.n;
  }

  // Threads -------------------------------------------------------------------------

  listThreads(portalId: number, archived: boolean, afterId: number, limit: number): HubSpotThread[] {
    const rows = this.prepare('SELECT thread FROM threads WHERE portal_id = ? AND archived = ? AND id > ? ORDER BY id LIMIT ?').all(
      portalId,
      archived ? 1 : 0,
      afterId,
      limit,
    ) as Array<{ thread: string }>;
    return rows.map((row) => JSON.parse(row.thread) as HubSpotThread);
  }

  insertThread(portalId: number, thread: HubSpotThread): void {
    this.prepare('INSERT INTO threads (portal_id, id, archived, thread) VALUES (?, ?, ?, ?)').run(portalId, Number(thread.id), thread.archived ? 1 : 0, JSON.stringify(thread));
  }

  // Daily usage ---------------------------------------------------------------------

  dailyCalls(portalId: number, day: string): number {
    const row = this.prepare('SELECT calls FROM daily_usage WHERE portal_id = ? AND day = ?').get(portalId, day) as { calls: number } | undefined;
    return row?.calls ?? 0;
  }

  setDailyCalls(portalId: number, day: string, calls: number): void {
    this.prepare('INSERT INTO daily_usage (portal_id, day, calls) VALUES (?, ?, ?) ON CONFLICT (portal_id, day) DO UPDATE SET calls = excluded.calls').run(portalId, day, calls);
  }

  private prepare(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

interface RecordRow {
  id: number;
  created_at: number;
  updated_at: number;
  archived_at: number | null;
  vals: string;
}

function fromRow(row: RecordRow): StoredRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.archived_at === null ? {} : { archivedAt: row.archived_at }),
    values: JSON.parse(row.vals) as Record<string, string>,
  };
}
