import type { Account, CrmRecord, ObjectType, PropertyDefinition, PropertyType } from '#core/model.ts';

/**
 * Deterministic demo data: the same seed gives the same accounts, object types and
 * records on every machine, so tests and screenshots are repeatable. Values are
 * chosen to exercise every CSV corner: commas, quotes, line breaks, non-Latin text,
 * emoji, leading `=`/`+`/`-`/`@` (spreadsheet formula triggers) and blanks.
 */

export interface DemoAccount {
  account: Account;
  objectTypes: ObjectType[];
  /** Records to create per object type on first start; 0 leaves a type empty on purpose. */
  records: Record<string, number>;
}

type Flags = Partial<Pick<PropertyDefinition, 'readOnly' | 'calculated' | 'sensitive'>>;

function property(name: string, label: string, type: PropertyType, flags: Flags = {}): PropertyDefinition {
  return { name, label, type, readOnly: flags.readOnly ?? false, calculated: flags.calculated ?? false, sensitive: flags.sensitive ?? false };
}

const createdAt = property('hs_createdate', 'Create date', 'datetime', { readOnly: true });
const ownerNotes = property('notes', 'Notes', 'text');

/** The standard object types every account has (PRODUCT.md, "The CRM data that is backed up"). */
export const STANDARD_OBJECT_TYPES: ObjectType[] = [
  {
    name: 'contacts', label: 'Contact', pluralLabel: 'Contacts', custom: false,
    properties: [
      property('firstname', 'First name', 'string'),
      property('lastname', 'Last name', 'string'),
      property('email', 'Email', 'email'),
      property('phone', 'Phone number', 'phone', { sensitive: true }),
      property('date_of_birth', 'Date of birth', 'date', { sensitive: true }),
      property('jobtitle', 'Job title', 'string'),
      property('company', 'Company name', 'string'),
      property('lifecyclestage', 'Lifecycle stage', 'enumeration'),
      property('city', 'City', 'string'),
      property('country', 'Country', 'string'),
      ownerNotes,
      createdAt,
      property('num_associated_deals', 'Associated deals', 'number', { calculated: true }),
    ],
  },
  {
    name: 'companies', label: 'Company', pluralLabel: 'Companies', custom: false,
    properties: [
      property('name', 'Company name', 'string'),
      property('domain', 'Company domain name', 'string'),
      property('industry', 'Industry', 'enumeration'),
      property('phone', 'Phone number', 'phone'),
      property('city', 'City', 'string'),
      property('country', 'Country', 'string'),
      property('annualrevenue', 'Annual revenue', 'number', { sensitive: true }),
      property('numberofemployees', 'Number of employees', 'number'),
      property('description', 'Description', 'text'),
      createdAt,
      property('num_associated_contacts', 'Associated contacts', 'number', { calculated: true }),
    ],
  },
  {
    name: 'deals', label: 'Deal', pluralLabel: 'Deals', custom: false,
    properties: [
      property('dealname', 'Deal name', 'string'),
      property('amount', 'Amount', 'number'),
      property('dealstage', 'Deal stage', 'enumeration'),
      property('pipeline', 'Pipeline', 'enumeration'),
      property('closedate', 'Close date', 'date'),
      property('description', 'Deal description', 'text'),
      createdAt,
      property('days_to_close', 'Days to close', 'number', { calculated: true }),
    ],
  },
  {
    name: 'tickets', label: 'Ticket', pluralLabel: 'Tickets', custom: false,
    properties: [
      property('subject', 'Ticket name', 'string'),
      property('content', 'Ticket description', 'text'),
      property('hs_pipeline_stage', 'Ticket status', 'enumeration'),
      property('hs_ticket_priority', 'Priority', 'enumeration'),
      property('customer_account_number', 'Customer account number', 'string', { sensitive: true }),
      createdAt,
      property('time_to_close', 'Time to close', 'number', { calculated: true }),
    ],
  },
  {
    name: 'products', label: 'Product', pluralLabel: 'Products', custom: false,
    properties: [
      property('name', 'Name', 'string'),
      property('price', 'Unit price', 'number'),
      property('hs_sku', 'SKU', 'string'),
      property('hs_cost_of_goods_sold', 'Unit cost', 'number', { sensitive: true }),
      property('description', 'Description', 'text'),
      createdAt,
    ],
  },
  {
    name: 'calls', label: 'Call', pluralLabel: 'Calls', custom: false,
    properties: [
      property('hs_call_title', 'Call title', 'string'),
      property('hs_call_body', 'Call notes', 'text'),
      property('hs_call_direction', 'Call direction', 'enumeration'),
      property('hs_call_duration', 'Call duration (ms)', 'number'),
      property('hs_call_recording_url', 'Recording URL', 'string', { sensitive: true }),
      property('hs_timestamp', 'Activity date', 'datetime'),
      createdAt,
    ],
  },
  {
    name: 'conversations', label: 'Conversation', pluralLabel: 'Conversations', custom: false,
    properties: [
      property('subject', 'Subject', 'string'),
      property('channel', 'Channel', 'enumeration'),
      property('status', 'Status', 'enumeration'),
      property('last_message', 'Last message', 'text', { sensitive: true }),
      createdAt,
    ],
  },
  {
    name: 'tasks', label: 'Task', pluralLabel: 'Tasks', custom: false,
    properties: [
      property('hs_task_subject', 'Task title', 'string'),
      property('hs_task_body', 'Notes', 'text'),
      property('hs_task_status', 'Task status', 'enumeration'),
      property('hs_task_priority', 'Priority', 'enumeration'),
      property('hs_timestamp', 'Due date', 'datetime'),
      createdAt,
    ],
  },
];

const VEHICLES: ObjectType = {
  name: 'p_vehicles', label: 'Vehicle', pluralLabel: 'Vehicles', custom: true,
  properties: [
    property('vin', 'VIN', 'string', { sensitive: true }),
    property('make', 'Make', 'string'),
    property('model', 'Model', 'string'),
    property('year', 'Year', 'number'),
    property('color', 'Color', 'string'),
    property('license_plate', 'License plate', 'string', { sensitive: true }),
    ownerNotes,
    createdAt,
  ],
};

const SUBSCRIPTIONS: ObjectType = {
  name: 'p_subscriptions', label: 'Subscription', pluralLabel: 'Subscriptions', custom: true,
  properties: [
    property('plan', 'Plan', 'enumeration'),
    property('seats', 'Seats', 'number'),
    property('status', 'Status', 'enumeration'),
    property('renewal_date', 'Renewal date', 'date'),
    property('billing_email', 'Billing email', 'email', { sensitive: true }),
    ownerNotes,
    createdAt,
    property('mrr', 'Monthly recurring revenue', 'number', { calculated: true }),
  ],
};

const PROJECTS: ObjectType = {
  name: 'p_projects', label: 'Project', pluralLabel: 'Projects', custom: true,
  properties: [
    property('project_name', 'Project name', 'string'),
    property('budget', 'Budget', 'number', { sensitive: true }),
    property('phase', 'Phase', 'enumeration'),
    property('start_date', 'Start date', 'date'),
    ownerNotes,
    createdAt,
    property('percent_complete', 'Percent complete', 'number', { calculated: true }),
  ],
};

function everyType(count: number, overrides: Record<string, number> = {}, types: ObjectType[]): Record<string, number> {
  return Object.fromEntries(types.map((type) => [type.name, overrides[type.name] ?? count]));
}

/** The demo accounts of API.md: acme (Enterprise) and globex (Professional, with an empty type). */
export function demoAccounts(recordsPerType: number): DemoAccount[] {
  const acmeTypes = [...STANDARD_OBJECT_TYPES, VEHICLES, SUBSCRIPTIONS];
  const globexTypes = [...STANDARD_OBJECT_TYPES, VEHICLES, PROJECTS];
  return [
    { account: { id: 'acme', name: 'Acme Corporation', tier: 'enterprise' }, objectTypes: acmeTypes, records: everyType(recordsPerType, {}, acmeTypes) },
    {
      account: { id: 'globex', name: 'Globex Inc.', tier: 'professional' },
      objectTypes: globexTypes,
      // Tickets stay empty: a backup must then contain no tickets.csv.
      records: everyType(Math.max(1, Math.ceil(recordsPerType / 2)), { tickets: 0 }, globexTypes),
    },
  ];
}

/**
 * The id of the n-th record of a type: numeric like HubSpot's and unique across the
 * demo accounts (so a test can tell "another tenant's id" from "an unknown id").
 * Room for 100 million records per type.
 */
export function recordId(accountId: string, objectTypes: ObjectType[], objectType: string, index: number): string {
  const accountNumber = accountId === 'acme' ? 1 : accountId === 'globex' ? 2 : 9;
  const typeIndex = objectTypes.findIndex((type) => type.name === objectType);
  return String(accountNumber * 10_000_000_000 + (typeIndex + 1) * 100_000_000 + index + 1);
}

/** Values that break naive CSV writers and spreadsheets; each appears in the demo data. */
export const TRICKY_VALUES = [
  'Smith, Jones & Partners',
  'The "Best" Company',
  'first line\nsecond line',
  'windows line\r\nbreak',
  'Zoë Ünïcödé-Ñandú',
  '東京都渋谷区',
  'Москва, Россия',
  'مرحبا بالعالم',
  '🚀 Launch 🎉',
  '=HYPERLINK("http://example.com","click")',
  '+1 (555) 010-0199',
  '-12.50',
  '@mention',
  '  padded with spaces  ',
  'tab\tinside',
  "O'Brien",
];

const FIRST = ['Ana', 'Bruno', 'Chloé', 'Dmitri', 'Emeka', 'Fatima', 'Grace', 'Hiro', 'Ingrid', 'José', 'Kai', 'Lena', 'Mateus', 'Nadia', 'Olu', 'Priya'];
const LAST = ['Silva', 'Okafor', 'Müller', 'Tanaka', 'García', 'Kowalski', 'Nguyen', 'Smith', 'Rossi', 'Haddad', 'Johansson', 'Dubois'];
const WORDS = ['renewal', 'onboarding', 'pricing', 'integration', 'follow-up', 'escalation', 'demo', 'contract', 'migration', 'support', 'expansion', 'audit'];
const CITIES = ['São Paulo', 'Lagos', 'Berlin', 'Osaka', 'Toronto', 'Lyon', 'Kraków', 'Austin', 'Nairobi', 'Melbourne'];
const COUNTRIES = ['Brazil', 'Nigeria', 'Germany', 'Japan', 'Canada', 'France', 'Poland', 'United States', 'Kenya', 'Australia'];
export const ENUMS: Record<string, string[]> = {
  lifecyclestage: ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer'],
  industry: ['COMPUTER_SOFTWARE', 'RETAIL', 'HOSPITAL_HEALTH_CARE', 'FINANCIAL_SERVICES', 'LOGISTICS'],
  dealstage: ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'contractsent', 'closedwon', 'closedlost'],
  pipeline: ['default', 'enterprise'],
  hs_pipeline_stage: ['1', '2', '3', '4'],
  hs_ticket_priority: ['LOW', 'MEDIUM', 'HIGH'],
  hs_call_direction: ['INBOUND', 'OUTBOUND'],
  channel: ['EMAIL', 'CHAT', 'WHATSAPP'],
  status: ['OPEN', 'CLOSED', 'ACTIVE', 'CANCELLED'],
  hs_task_status: ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED'],
  hs_task_priority: ['LOW', 'MEDIUM', 'HIGH'],
  plan: ['starter', 'professional', 'enterprise'],
  phase: ['discovery', 'build', 'launch', 'closed'],
};

/** mulberry32: a tiny, fast, seedable PRNG, so that demo data is the same everywhere. */
export function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashSeed(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

/**
 * The n-th demo record of an object type. Pure: the same (account, type, n) always
 * gives the same record, so a 1,000,000-record seed can be generated in chunks.
 */
export function demoRecord(accountId: string, objectTypes: ObjectType[], objectType: ObjectType, index: number): CrmRecord {
  const random = randomFrom(hashSeed(`${accountId}/${objectType.name}/${index}`));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const properties: Record<string, string> = {};
  for (const definition of objectType.properties) {
    const roll = random();
    if (roll < 0.08 && !definition.readOnly) {
      properties[definition.name] = '';
      continue;
    }
    if (roll < 0.16 && ['string', 'text', 'phone', 'enumeration'].includes(definition.type)) {
      properties[definition.name] = pick(TRICKY_VALUES);
      continue;
    }
    properties[definition.name] = valueFor(definition, index, random, pick);
  }
  return { id: recordId(accountId, objectTypes, objectType.name, index), properties };
}

function valueFor(definition: PropertyDefinition, index: number, random: () => number, pick: <T>(list: readonly T[]) => T): string {
  const day = new Date(Date.UTC(2020, 0, 1) + Math.floor(random() * 6 * 365) * 86_400_000);
  switch (definition.type) {
    case 'number':
      return String(Math.floor(random() * 100_000) / (random() < 0.3 ? 100 : 1));
    case 'date':
      return day.toISOString().slice(0, 10);
    case 'datetime':
      return new Date(day.getTime() + Math.floor(random() * 86_400_000)).toISOString();
    case 'email':
      return `${pick(FIRST).toLowerCase()}.${pick(LAST).toLowerCase()}${index}@example.com`.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    case 'phone':
      return `+${1 + Math.floor(random() * 98)} ${100 + Math.floor(random() * 900)} ${1000 + Math.floor(random() * 9000)}`;
    case 'enumeration':
      return pick(ENUMS[definition.name] ?? ['A', 'B', 'C']);
    case 'bool':
      return random() < 0.5 ? 'true' : 'false';
    case 'text':
      return Array.from({ length: 3 + Math.floor(random() * 12) }, () => pick(WORDS)).join(' ') + (random() < 0.2 ? `\nP.S. ${pick(WORDS)}, ${pick(WORDS)}` : '');
    default:
      if (definition.name === 'firstname') return pick(FIRST);
      if (definition.name === 'lastname') return pick(LAST);
      if (definition.name === 'city') return pick(CITIES);
      if (definition.name === 'country') return pick(COUNTRIES);
      return `${pick(WORDS)} ${pick(WORDS)} ${index}`.replace(/^./, (c) => c.toUpperCase());
  }
}
