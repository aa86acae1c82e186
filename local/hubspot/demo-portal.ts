import type { ObjectType, PropertyDefinition } from '#core/model.ts';
import { ENUMS, STANDARD_OBJECT_TYPES, TRICKY_VALUES, demoAccounts, demoRecord } from '../demo-data.ts';
import type { DataSensitivity, HubSpotObjectType, HubSpotProperty, HubSpotThread, ObjectTypeScopes, PortalSettings, RateLimits } from './model.ts';
import type { HubSpotStandIn } from './stand-in.ts';

/**
 * The demo HubSpot portal: the same object types and hard values as the built-in demo
 * accounts (local/demo-data.ts: commas, quotes, line breaks, non-Latin text, emoji,
 * formula triggers, blanks), plus what only HubSpot has: system properties, sensitive
 * and highly sensitive properties, an archived property, archived records, a 60,000
 * character value, conversation threads. Deterministic: the same options give the
 * same portal, ids and values on every machine.
 */

export const DEMO_PORTAL_ID = 7301234;

/** Professional's budget for private apps (HUBSPOT.md §7). */
export const PROFESSIONAL_LIMITS: RateLimits = { perWindow: 190, windowMs: 10_000, daily: 650_000 };

const DEMO_ACCOUNT = 'initech';
/** The custom object's id (HubSpot gives `2-` plus a number of its choosing). */
const VEHICLES_TYPE_ID = '2-3508127';
/** The type left empty on purpose: a backup must then contain no file for it. */
const EMPTY_TYPE = 'tasks';
/** Archived records: one in 97, so lists with `archived=true` have something to show. */
const ARCHIVED_EVERY = 97;
const LONG_VALUE_INDEX = 3;
const SEED_CHUNK = 2000;

interface StandardType {
  objectTypeId: string;
  errorName: string;
  scopes: ObjectTypeScopes;
  createdProperty: string;
  modifiedProperty: string;
  groupName: string;
  defaultProperties: string[];
  primaryDisplayProperty: string;
  /** HubSpot keeps sensitive data only on contacts, companies, deals, tickets and custom objects. */
  allowsSensitive: boolean;
}

/** Scopes of `crm.objects.<name>.*` types (calls and tasks use the contacts ones: HUBSPOT.md §1). */
function objectScopes(name: string): ObjectTypeScopes {
  return {
    read: `crm.objects.${name}.read`,
    write: `crm.objects.${name}.write`,
    sensitiveRead: `crm.objects.${name}.sensitive.read.v2`,
    sensitiveWrite: `crm.objects.${name}.sensitive.write.v2`,
  };
}

// Ids: HubSpot's using-object-apis guide. Default properties: HubSpot's object guides and hubspot-api-python#357.
const STANDARD_TYPES: Record<string, StandardType> = {
  contacts: {
    objectTypeId: '0-1', errorName: 'CONTACT', scopes: objectScopes('contacts'), createdProperty: 'createdate', modifiedProperty: 'lastmodifieddate',
    groupName: 'contactinformation', defaultProperties: ['email', 'firstname', 'lastname'], primaryDisplayProperty: 'email', allowsSensitive: true,
  },
  companies: {
    objectTypeId: '0-2', errorName: 'COMPANY', scopes: objectScopes('companies'), createdProperty: 'createdate', modifiedProperty: 'hs_lastmodifieddate',
    groupName: 'companyinformation', defaultProperties: ['domain', 'name'], primaryDisplayProperty: 'name', allowsSensitive: true,
  },
  deals: {
    objectTypeId: '0-3', errorName: 'DEAL', scopes: objectScopes('deals'), createdProperty: 'createdate', modifiedProperty: 'hs_lastmodifieddate',
    groupName: 'dealinformation', defaultProperties: ['amount', 'closedate', 'dealname', 'dealstage', 'pipeline'], primaryDisplayProperty: 'dealname', allowsSensitive: true,
  },
  tickets: {
    objectTypeId: '0-5', errorName: 'TICKET', createdProperty: 'createdate', modifiedProperty: 'hs_lastmodifieddate',
    scopes: { read: 'tickets', write: 'tickets', sensitiveRead: 'tickets.sensitive.v2', sensitiveWrite: 'tickets.sensitive.v2' },
    groupName: 'ticketinformation', defaultProperties: ['content', 'hs_pipeline_stage', 'hs_ticket_priority', 'subject'], primaryDisplayProperty: 'subject', allowsSensitive: true,
  },
  products: {
    objectTypeId: '0-7', errorName: 'PRODUCT', scopes: objectScopes('products'), createdProperty: 'createdate', modifiedProperty: 'hs_lastmodifieddate',
    groupName: 'productinformation', defaultProperties: ['description', 'name', 'price'], primaryDisplayProperty: 'name', allowsSensitive: false,
  },
  calls: {
    objectTypeId: '0-48', errorName: 'CALL', scopes: objectScopes('contacts'), createdProperty: 'hs_createdate', modifiedProperty: 'hs_lastmodifieddate',
    groupName: 'call', defaultProperties: ['hs_call_body', 'hs_call_title', 'hs_timestamp'], primaryDisplayProperty: 'hs_call_title', allowsSensitive: false,
  },
  tasks: {
    objectTypeId: '0-27', errorName: 'TASK', scopes: objectScopes('contacts'), createdProperty: 'hs_createdate', modifiedProperty: 'hs_lastmodifieddate',
    groupName: 'task', defaultProperties: ['hs_task_body', 'hs_task_subject', 'hs_timestamp'], primaryDisplayProperty: 'hs_task_subject', allowsSensitive: false,
  },
};

/** Properties the built-in demo has that a HubSpot portal would hold as custom properties. */
const PORTAL_DEFINED = new Set(['date_of_birth', 'notes', 'customer_account_number']);

const FIELD_TYPES: Record<PropertyDefinition['type'], [string, string]> = {
  string: ['string', 'text'],
  text: ['string', 'textarea'],
  email: ['string', 'text'],
  phone: ['string', 'phonenumber'],
  number: ['number', 'number'],
  date: ['date', 'date'],
  datetime: ['datetime', 'date'],
  enumeration: ['enumeration', 'select'],
  bool: ['bool', 'booleancheckbox'],
};

/** When the demo portal's definitions were made (fixed, so that they are the same everywhere). */
const DEFINED_AT = '2024-01-15T09:30:00.000Z';

export interface DemoPortalOptions {
  /** Records per object type (the empty type stays empty). */
  recordsPerType: number;
  limits?: Partial<RateLimits>;
}

export interface SeededPortal {
  portalId: number;
  accessToken: string;
  /** False when DATA_DIR already held the portal (state survives restarts). */
  seeded: boolean;
}

/**
 * Seeds the demo portal unless DATA_DIR has it, issues its token (every scope) and
 * makes it the one `GET /local/hubspot` hands out. The local runtime calls this at start.
 */
export function seedDemoPortal(standIn: HubSpotStandIn, options: DemoPortalOptions): SeededPortal {
  const existing = standIn.demoPortal();
  if (existing && standIn.getPortal(existing.portalId)) return { ...existing, seeded: false };
  const portalId = DEMO_PORTAL_ID;
  const settings: PortalSettings = {
    portalId,
    accountType: 'STANDARD',
    timeZone: 'US/Eastern',
    companyCurrency: 'USD',
    uiDomain: 'app.hubspot.com',
    dataHostingLocation: 'na1',
    limits: { ...PROFESSIONAL_LIMITS, ...options.limits },
  };
  standIn.putPortal(settings);
  const sources = demoSourceTypes();
  for (const source of sources) standIn.putObjectType(portalId, toHubSpotType(portalId, source));
  for (const source of sources) {
    const count = source.name === EMPTY_TYPE ? 0 : options.recordsPerType;
    addDemoRecords(standIn, portalId, source, 0, count, { archiveSome: true });
  }
  const contactIds = standIn.store.listRecords(portalId, '0-1', false, 0, Math.max(1, options.recordsPerType)).map((record) => String(record.id));
  standIn.addThreads(portalId, demoThreads(options.recordsPerType, contactIds));
  const accessToken = standIn.issueToken(portalId);
  standIn.setDemoPortal(portalId, accessToken);
  return { portalId, accessToken, seeded: true };
}

/**
 * Adds `count` more contacts to a portal, continuing the demo sequence after the
 * records it has (so repeated runs grow it). In chunks, one transaction each: the
 * bench seeds 100,000 this way in seconds with flat memory.
 */
export function seedContacts(standIn: HubSpotStandIn, portalId: number, count: number, onProgress?: (written: number) => void): void {
  const contacts = demoSourceTypes().find((type) => type.name === 'contacts')!;
  const start = standIn.store.countRecords(portalId, '0-1') + standIn.store.countRecords(portalId, '0-1', true);
  addDemoRecords(standIn, portalId, contacts, start, count, { archiveSome: false, onProgress });
}

/** The built-in demo types the portal mirrors: the standard ones HubSpot has, and the vehicles custom object. */
function demoSourceTypes(): ObjectType[] {
  const vehicles = demoAccounts(1)[0]!.objectTypes.find((type) => type.name === 'p_vehicles')!;
  return [...STANDARD_OBJECT_TYPES.filter((type) => type.name in STANDARD_TYPES), vehicles];
}

function toHubSpotType(portalId: number, source: ObjectType): HubSpotObjectType {
  const custom = source.custom;
  const name = custom ? source.name.replace(/^p_/, '') : source.name;
  const standard = STANDARD_TYPES[source.name];
  const shape: StandardType = standard ?? {
    objectTypeId: VEHICLES_TYPE_ID, errorName: name.toUpperCase(), scopes: objectScopes('custom'), createdProperty: 'hs_createdate', modifiedProperty: 'hs_lastmodifieddate',
    groupName: `${name.replace(/s$/, '')}_information`, defaultProperties: ['model'], primaryDisplayProperty: 'model', allowsSensitive: true,
  };
  const own = source.properties.filter((property) => property.name !== 'hs_createdate');
  const properties: HubSpotProperty[] = own.map((property, index) =>
    toHubSpotProperty(property, {
      groupName: shape.groupName,
      displayOrder: index + 1,
      hubspotDefined: !custom && !PORTAL_DEFINED.has(property.name),
      dataSensitivity: property.sensitive && shape.allowsSensitive ? 'sensitive' : 'non_sensitive',
    }),
  );
  properties.push(
    systemProperty(shape.createdProperty, 'Create Date', 'datetime', shape.groupName),
    systemProperty(shape.modifiedProperty, 'Last Modified Date', 'datetime', shape.groupName),
    systemProperty('hs_object_id', 'Record ID', 'number', shape.groupName),
  );
  if (source.name === 'contacts') {
    properties.push(
      { ...toHubSpotProperty({ name: 'passport_number', label: 'Passport number', type: 'string', readOnly: false, calculated: false, sensitive: true }, {
        groupName: shape.groupName, displayOrder: properties.length + 1, hubspotDefined: false, dataSensitivity: 'highly_sensitive',
      }) },
      {
        ...toHubSpotProperty({ name: 'legacy_lead_source', label: 'Lead source (old)', type: 'string', readOnly: false, calculated: false, sensitive: false }, {
          groupName: shape.groupName, displayOrder: -1, hubspotDefined: false, dataSensitivity: 'non_sensitive',
        }),
        archived: true,
        archivedAt: DEFINED_AT,
      },
    );
  }
  return {
    objectTypeId: shape.objectTypeId,
    name,
    custom,
    ...(custom ? { fullyQualifiedName: `p${portalId}_${name}` } : {}),
    labels: { singular: source.label, plural: source.pluralLabel },
    errorName: shape.errorName,
    scopes: shape.scopes,
    createdProperty: shape.createdProperty,
    modifiedProperty: shape.modifiedProperty,
    defaultProperties: shape.defaultProperties,
    primaryDisplayProperty: shape.primaryDisplayProperty,
    properties,
    createdAt: DEFINED_AT,
  };
}

function toHubSpotProperty(
  definition: PropertyDefinition,
  shape: { groupName: string; displayOrder: number; hubspotDefined: boolean; dataSensitivity: DataSensitivity },
): HubSpotProperty {
  const [type, fieldType] = FIELD_TYPES[definition.type];
  const readOnlyValue = definition.readOnly || definition.calculated;
  return {
    name: definition.name,
    label: definition.label,
    type,
    fieldType: definition.calculated ? 'calculation_equation' : fieldType,
    description: '',
    groupName: shape.groupName,
    options:
      definition.type === 'enumeration'
        ? (ENUMS[definition.name] ?? ['A', 'B', 'C']).map((value, index) => ({ label: value, value, displayOrder: index, hidden: false }))
        : [],
    displayOrder: shape.displayOrder,
    calculated: definition.calculated,
    externalOptions: false,
    hasUniqueValue: false,
    hidden: false,
    hubspotDefined: shape.hubspotDefined,
    formField: !readOnlyValue,
    modificationMetadata: { archivable: !shape.hubspotDefined, readOnlyDefinition: shape.hubspotDefined, readOnlyValue },
    dataSensitivity: shape.dataSensitivity,
    createdAt: DEFINED_AT,
    updatedAt: DEFINED_AT,
    archived: false,
  };
}

/** The create date, modify date and record id: set by HubSpot, read-only. */
function systemProperty(name: string, label: string, type: 'datetime' | 'number', groupName: string): HubSpotProperty {
  return {
    ...toHubSpotProperty({ name, label, type, readOnly: true, calculated: false, sensitive: false }, { groupName, displayOrder: -1, hubspotDefined: true, dataSensitivity: 'non_sensitive' }),
    hasUniqueValue: name === 'hs_object_id',
  };
}

function addDemoRecords(
  standIn: HubSpotStandIn,
  portalId: number,
  source: ObjectType,
  start: number,
  count: number,
  options: { archiveSome: boolean; onProgress?: (written: number) => void },
): void {
  const sources = demoSourceTypes();
  const type = STANDARD_TYPES[source.name]?.objectTypeId ?? VEHICLES_TYPE_ID;
  const longText = source.properties.find((property) => property.type === 'text')?.name;
  for (let from = start; from < start + count; from += SEED_CHUNK) {
    const records = [];
    for (let index = from; index < Math.min(start + count, from + SEED_CHUNK); index += 1) {
      const { hs_createdate: created, ...values } = demoRecord(DEMO_ACCOUNT, sources, source, index).properties;
      for (const property of source.properties) {
        // HubSpot refuses values outside an enumeration's options: the hard values go to text properties only.
        const options = property.type === 'enumeration' ? ENUMS[property.name] : undefined;
        if (options && values[property.name] && !options.includes(values[property.name]!)) values[property.name] = options[index % options.length]!;
      }
      if (index === LONG_VALUE_INDEX && longText) values[longText] = longValue();
      if (source.name === 'contacts' && index % 3 === 0) values.passport_number = `P${String(10_000_000 + ((index * 7919) % 89_999_999))}`;
      records.push({ values, createdAt: Date.parse(created!), archived: options.archiveSome && index % ARCHIVED_EVERY === 13 });
    }
    standIn.addRecords(portalId, type, records);
    options.onProgress?.(Math.min(count, from + SEED_CHUNK - start));
  }
}

/** About 60,000 characters (HubSpot stores up to 65,536 per value), built of whole hard values so no character is cut in half. */
function longValue(): string {
  const parts: string[] = [];
  let length = 0;
  for (let index = 0; length < 60_000; index += 1) {
    const part = TRICKY_VALUES[index % TRICKY_VALUES.length]!;
    parts.push(part);
    length += part.length + 3;
  }
  return parts.join(' | ');
}

const INBOXES = ['147959634', '147959635'];
const CHANNELS = [
  { channelId: '1000', channelAccountId: '240956377' },
  { channelId: '1002', channelAccountId: '240956378' },
];

/** Conversation threads (backed up, never restored): some closed, a few archived. */
function demoThreads(count: number, contactIds: string[]): HubSpotThread[] {
  const start = Date.UTC(2024, 2, 1);
  return Array.from({ length: count }, (_, index) => {
    const createdAt = new Date(start + index * 3_600_000 * 7);
    const closed = index % 3 === 0;
    const channel = CHANNELS[index % CHANNELS.length]!;
    const latest = new Date(createdAt.getTime() + 1_800_000);
    return {
      id: String(4_000_000_000 + index + 1),
      createdAt: createdAt.toISOString(),
      status: closed ? 'CLOSED' : 'OPEN',
      ...(closed ? { closedAt: new Date(latest.getTime() + 600_000).toISOString() } : {}),
      inboxId: INBOXES[index % INBOXES.length]!,
      originalChannelId: channel.channelId,
      originalChannelAccountId: channel.channelAccountId,
      associatedContactId: contactIds[index % Math.max(1, contactIds.length)] ?? '0',
      latestMessageTimestamp: latest.toISOString(),
      spam: false,
      archived: index % 50 === 7,
    };
  });
}
