/**
 * What the HubSpot stand-in keeps, in HubSpot's own terms. The JSON shapes follow the
 * official client's models (`@hubspot/api-client/lib/codegen/crm/...`) and HubSpot's
 * OpenAPI specs; docs/hubspot-stand-in.md gives the source of each.
 */

/** `Option` of the properties API. */
export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

export type DataSensitivity = 'non_sensitive' | 'sensitive' | 'highly_sensitive';

/** `Property` of the properties API (with `dataSensitivity`, which the v14 client's model drops). */
export interface HubSpotProperty {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  description: string;
  groupName: string;
  options: PropertyOption[];
  displayOrder: number;
  calculated: boolean;
  calculationFormula?: string;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  hidden: boolean;
  hubspotDefined: boolean;
  formField: boolean;
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean; readOnlyOptions?: boolean };
  dataSensitivity: DataSensitivity;
  sensitiveDataCategories?: string[];
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

/** The scopes a token needs for one object type, per HubSpot's OpenAPI `security` blocks. */
export interface ObjectTypeScopes {
  read: string;
  write: string;
  sensitiveRead: string;
  sensitiveWrite: string;
}

/** One object type of a portal: a standard one (`0-1` ...) or a custom object (`2-...`). */
export interface HubSpotObjectType {
  objectTypeId: string;
  /** The path name: `contacts`, or a custom object's `name` (records also answer to `p_<name>` and its fully qualified name). */
  name: string;
  custom: boolean;
  fullyQualifiedName?: string;
  labels: { singular: string; plural: string };
  /** How batch errors name the type ("Could not get some CONTACT objects"). */
  errorName: string;
  scopes: ObjectTypeScopes;
  /** The create and modify date properties every record carries: contacts use `createdate`/`lastmodifieddate`, engagements and custom objects `hs_createdate`/`hs_lastmodifieddate`. */
  createdProperty: string;
  modifiedProperty: string;
  /** Properties returned when a read names none. */
  defaultProperties: string[];
  primaryDisplayProperty: string;
  properties: HubSpotProperty[];
  createdAt: string;
}

export interface PortalSettings {
  portalId: number;
  accountType: 'STANDARD' | 'SANDBOX' | 'DEVELOPER_TEST' | 'APP_DEVELOPER';
  /** IANA name; the daily limit resets at midnight here. */
  timeZone: string;
  companyCurrency: string;
  uiDomain: string;
  dataHostingLocation: string;
  limits: RateLimits;
}

/** A portal's API budget: a rolling window and a daily limit (HUBSPOT.md §7). */
export interface RateLimits {
  /** Requests allowed per window (Professional: 190). */
  perWindow: number;
  /** The window's length (HubSpot: 10,000 ms). */
  windowMs: number;
  /** Requests allowed per day in the portal's time zone (Professional: 650,000). */
  daily: number;
}

export interface TokenGrant {
  token: string;
  portalId: number;
  scopes: string[];
  /** Epoch ms after which the token answers EXPIRED_AUTHENTICATION. */
  expiresAt?: number;
  revoked: boolean;
}

/** A CRM record as stored: only non-blank values, times in epoch ms. */
export interface StoredRecord {
  id: number;
  createdAt: number;
  updatedAt: number;
  archivedAt?: number;
  values: Record<string, string>;
}

/** `PublicThread` of the conversations inbox API. */
export interface HubSpotThread {
  id: string;
  createdAt: string;
  status: 'OPEN' | 'CLOSED';
  closedAt?: string;
  inboxId: string;
  originalChannelId: string;
  originalChannelAccountId: string;
  associatedContactId: string;
  latestMessageTimestamp: string;
  spam: boolean;
  archived: boolean;
}
