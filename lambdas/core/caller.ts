import { ForbiddenError, UnauthorizedError } from './errors.ts';

/** The signed-in person making a request, as the identity provider vouches for them. */
export interface Caller {
  userId: string;
  email: string;
  accountId: string;
  superAdmin: boolean;
  /** Signed in through a federated identity provider: no TOTP re-authentication. */
  sso: boolean;
}

export const SUPER_ADMINS_GROUP = 'super-admins';

/**
 * Reads a caller from JWT claims, as API Gateway's JWT authorizer hands them over
 * (`requestContext.authorizer.jwt.claims`), or as the local issuer puts them there.
 */
export function callerFromClaims(claims: Record<string, unknown> | undefined): Caller {
  if (!claims) throw new UnauthorizedError();
  const userId = stringClaim(claims.sub);
  const accountId = stringClaim(claims['custom:accountId']);
  if (!userId || !accountId) {
    throw new UnauthorizedError('The token does not name a user and an account.');
  }
  return {
    userId,
    email: stringClaim(claims.email) ?? '',
    accountId,
    superAdmin: groupsClaim(claims['cognito:groups']).includes(SUPER_ADMINS_GROUP),
    sso: claims.identities !== undefined && claims.identities !== null && claims.identities !== '',
  };
}

/** Backup and restore are for super admins only (PRODUCT.md, "Who uses it"). */
export function requireSuperAdmin(caller: Caller): void {
  if (!caller.superAdmin) throw new ForbiddenError();
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The groups of `cognito:groups`: a JSON array as the token carries it, or the string
 * API Gateway's JWT authorizer flattens an array claim to, `"[staff super-admins]"`:
 * the names joined by single spaces inside brackets. Cognito group names cannot hold
 * white space, so splitting that string on spaces is exact; they can hold commas, so
 * nothing is ever split on a comma (a group called `staff,super-admins` is one group,
 * not two). A string without the brackets is one group name, as is.
 */
export function groupsClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string');
  if (typeof value !== 'string' || value === '') return [];
  const flattened = /^\[(.*)\]$/s.exec(value);
  return flattened ? flattened[1]!.split(' ').filter(Boolean) : [value];
}
