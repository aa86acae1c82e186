import { missingScopes, type HubSpotReply } from './errors.ts';
import type { HubSpotObjectType, TokenGrant } from './model.ts';

/**
 * Scopes as HubSpot checks them (the `security` blocks of its OpenAPI specs, HUBSPOT.md
 * §1): a call needs one of a list of acceptable scopes, and a 403 MISSING_SCOPES names
 * that list.
 */

/** Every scope a backup and restore of these types needs (the list users grant their private app); sensitive scopes only where a type has such properties. */
export function allScopes(types: HubSpotObjectType[]): string[] {
  const scopes = new Set(['oauth', 'conversations.read', 'crm.schemas.custom.read', 'crm.export']);
  for (const type of types) {
    scopes.add(type.scopes.read).add(type.scopes.write);
    const levels = new Set(type.properties.map((property) => property.dataSensitivity));
    if (levels.has('sensitive')) scopes.add(type.scopes.sensitiveRead).add(type.scopes.sensitiveWrite);
    if (levels.has('highly_sensitive')) scopes.add(highlySensitive(type.scopes.sensitiveRead)).add(highlySensitive(type.scopes.sensitiveWrite));
  }
  return [...scopes].sort();
}

/** The highly-sensitive twin of a sensitive scope (`crm.objects.contacts.highly_sensitive.read.v2`). */
export function highlySensitive(scope: string): string {
  return scope.replace('.sensitive.', '.highly_sensitive.');
}

/** A 403 unless the token holds one of `acceptable`. */
export function requireScope(grant: TokenGrant, acceptable: string[]): HubSpotReply | undefined {
  return acceptable.some((scope) => grant.scopes.includes(scope)) ? undefined : missingScopes(acceptable);
}
