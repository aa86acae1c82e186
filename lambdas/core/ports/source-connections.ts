/**
 * An account's connection to a CRM other than the built-in one: what the account stored
 * when a super admin connected it. Without one, the account's source is the built-in CRM.
 * The credential is kept only encrypted (a SecretCipher: KMS in AWS), and never leaves
 * the adapters that call the CRM: not in an answer, a log, or a Step Functions payload.
 */
export interface SourceConnection {
  accountId: string;
  /** The kind of CRM (`hubspot`): which adapter reads and writes it. */
  type: string;
  /** The CRM's account (a HubSpot portal id). */
  portalId: number;
  /** The CRM account's time zone: when its daily API limit resets. */
  timeZone: string;
  /** The API budget seen when it was connected (requests per window), until the CRM's own answers tell. */
  limits: { perWindow: number; windowMs: number };
  /** The credential, encrypted with the context `sourceCipherContext(accountId)`. */
  encryptedToken: string;
  /** Scopes the token was found to hold when it was connected, and those it lacked. */
  scopes: string[];
  missingScopes: string[];
  connectedAt: string;
  connectedBy: string;
}

/** Connections, one per account at most (DynamoDB app table, `SOURCE#<account>` / `CONNECTION`). */
export interface SourceConnections {
  get(accountId: string): Promise<SourceConnection | undefined>;
  put(connection: SourceConnection): Promise<void>;
  /** Answers whether there was one. */
  delete(accountId: string): Promise<boolean>;
}

/** What a CRM says about a credential when asked live. */
export interface SourceInspection {
  portalId: number;
  timeZone: string;
  limits: { perWindow: number; windowMs: number };
  scopes: string[];
  missingScopes: string[];
}

/**
 * Checks a credential with live calls to the CRM before it is stored: which account it
 * opens, and which of the scopes a backup and restore need it holds. Throws
 * ValidationError when the CRM refuses it.
 */
export interface SourceInspector {
  inspect(type: string, accessToken: string): Promise<SourceInspection>;
}

/** The encryption context of an account's source credential: a ciphertext cannot be moved to another account. */
export function sourceCipherContext(accountId: string): Record<string, string> {
  return { purpose: 'source-token', accountId };
}
