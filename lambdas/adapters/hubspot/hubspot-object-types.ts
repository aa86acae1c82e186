import type { PropertyDefinition, PropertyType } from '#core/model.ts';

/**
 * The object types of a HubSpot portal as crm-backup names them, and how HubSpot's
 * property definitions become ours (HUBSPOT.md §4-6).
 */

/** A HubSpot object type crm-backup backs up: where its API is and what it needs. */
export interface HubSpotTypeRef {
  /** Our name: `contacts`, `p_<name>` for a custom object (as the built-in CRM names them), `conversations`. */
  name: string;
  label: string;
  pluralLabel: string;
  custom: boolean;
  /** What its record paths take: the standard name, or a custom object's `objectTypeId` (`2-…`). */
  pathType: string;
  /** HubSpot keeps sensitive data on contacts, companies, deals, tickets and custom objects only. */
  holdsSensitive: boolean;
  /** Scopes to read and write its records (calls and tasks use the contacts ones; tickets are `tickets`). */
  scopes: { read: string; write: string; sensitiveRead?: string; sensitiveWrite?: string };
}

function objectScopes(name: string, holdsSensitive: boolean): HubSpotTypeRef['scopes'] {
  return {
    read: `crm.objects.${name}.read`,
    write: `crm.objects.${name}.write`,
    ...(holdsSensitive ? { sensitiveRead: `crm.objects.${name}.sensitive.read.v2`, sensitiveWrite: `crm.objects.${name}.sensitive.write.v2` } : {}),
  };
}

function standard(name: string, label: string, pluralLabel: string, holdsSensitive: boolean, scopes = objectScopes(name, holdsSensitive)): HubSpotTypeRef {
  return { name, label, pluralLabel, custom: false, pathType: name, holdsSensitive, scopes };
}

/** The standard types (ids in HubSpot's using-object-apis guide: 0-1, 0-2, 0-3, 0-5, 0-7, 0-48, 0-27). */
export const STANDARD_TYPES: readonly HubSpotTypeRef[] = [
  standard('contacts', 'Contact', 'Contacts', true),
  standard('companies', 'Company', 'Companies', true),
  standard('deals', 'Deal', 'Deals', true),
  standard('tickets', 'Ticket', 'Tickets', true, { read: 'tickets', write: 'tickets', sensitiveRead: 'tickets.sensitive.v2', sensitiveWrite: 'tickets.sensitive.v2' }),
  standard('products', 'Product', 'Products', false),
  standard('calls', 'Call', 'Calls', false, objectScopes('contacts', false)),
  standard('tasks', 'Task', 'Tasks', false, objectScopes('contacts', false)),
];

/** A custom object from the schemas API. */
export function customType(schema: { name: string; objectTypeId: string; labels?: { singular?: string; plural?: string } }): HubSpotTypeRef {
  return {
    name: `p_${schema.name}`,
    label: schema.labels?.singular ?? schema.name,
    pluralLabel: schema.labels?.plural ?? schema.name,
    custom: true,
    pathType: schema.objectTypeId,
    holdsSensitive: true,
    scopes: objectScopes('custom', true),
  };
}

/** Conversation threads: backed up, never restored (their API changes nothing but a thread's status). */
export const CONVERSATIONS: HubSpotTypeRef = {
  name: 'conversations',
  label: 'Conversation',
  pluralLabel: 'Conversations',
  custom: false,
  pathType: 'threads',
  holdsSensitive: false,
  scopes: { read: 'conversations.read', write: 'conversations.read' },
};

/** The fields of a `PublicThread` a backup keeps, as read-only properties (the `id` is the record's). */
export const THREAD_PROPERTIES: PropertyDefinition[] = [
  thread('status', 'Status', 'enumeration'),
  thread('createdAt', 'Created', 'datetime'),
  thread('closedAt', 'Closed', 'datetime'),
  thread('latestMessageTimestamp', 'Latest message', 'datetime'),
  thread('inboxId', 'Inbox', 'string'),
  thread('originalChannelId', 'Channel', 'string'),
  thread('originalChannelAccountId', 'Channel account', 'string'),
  thread('associatedContactId', 'Contact', 'string'),
  thread('spam', 'Spam', 'bool'),
];

function thread(name: string, label: string, type: PropertyType): PropertyDefinition {
  return { name, label, type, readOnly: true, calculated: false, sensitive: false };
}

/** A property definition as the properties API answers it (HUBSPOT.md §4: the v14 client's model drops `dataSensitivity`). */
export interface HubSpotPropertyJson {
  name: string;
  label?: string;
  type?: string;
  fieldType?: string;
  calculated?: boolean;
  dataSensitivity?: string;
  archived?: boolean;
  modificationMetadata?: { readOnlyValue?: boolean };
}

/**
 * Ours from HubSpot's: read-only when HubSpot sets the value (`readOnlyValue`: the
 * record id, create and modify dates, rollups), calculated when HubSpot computes it
 * (`calculated`, or a calculation field type: the list of rollup field types is
 * unconfirmed, so both are read), sensitive at either sensitivity level.
 */
export function toPropertyDefinition(property: HubSpotPropertyJson): PropertyDefinition {
  return {
    name: property.name,
    label: property.label || property.name,
    type: propertyType(property),
    readOnly: property.modificationMetadata?.readOnlyValue === true,
    calculated: property.calculated === true || /^calculation_/.test(property.fieldType ?? ''),
    sensitive: property.dataSensitivity === 'sensitive' || property.dataSensitivity === 'highly_sensitive',
  };
}

function propertyType(property: HubSpotPropertyJson): PropertyType {
  if (property.fieldType === 'textarea' || property.fieldType === 'html') return 'text';
  if (property.fieldType === 'phonenumber') return 'phone';
  switch (property.type) {
    case 'number':
    case 'date':
    case 'datetime':
    case 'enumeration':
    case 'bool':
      return property.type;
    default:
      return 'string';
  }
}
