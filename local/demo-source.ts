import { sourceCipherContext } from '#core/ports/source-connections.ts';
import type { AppDeps } from '#runtime/deps.ts';
import { PROFESSIONAL_LIMITS, type SeededPortal } from './hubspot/demo-portal.ts';
import { allScopes } from './hubspot/scopes.ts';
import type { HubSpotStandIn } from './hubspot/stand-in.ts';

/** The third demo account: a Professional customer whose CRM is the demo HubSpot portal. */
export const INITECH = { id: 'initech', name: 'Initech', tier: 'professional' as const };

/**
 * Seeds `initech` unless it is there: the account (no records in the built-in CRM) and
 * its source, the demo portal, connected as a super admin would connect it (the token
 * encrypted; the scopes the stand-in's token holds). Its records live in the portal.
 */
export async function seedInitech(deps: AppDeps, standIn: HubSpotStandIn, portal: SeededPortal): Promise<void> {
  if (!(await deps.connections.get(INITECH.id))) {
    const settings = standIn.getPortal(portal.portalId)!;
    await deps.connections.put({
      accountId: INITECH.id,
      type: 'hubspot',
      portalId: portal.portalId,
      timeZone: settings.timeZone,
      limits: { perWindow: PROFESSIONAL_LIMITS.perWindow, windowMs: PROFESSIONAL_LIMITS.windowMs },
      encryptedToken: await deps.secrets.encrypt(portal.accessToken, sourceCipherContext(INITECH.id)),
      scopes: allScopes(standIn.objectTypes(portal.portalId)),
      missingScopes: [],
      connectedAt: deps.clock.now().toISOString(),
      connectedBy: 'admin@initech.example',
    });
  }
  // The account item last: its presence means "fully seeded".
  if (!(await deps.records.getAccount(INITECH.id))) await deps.records.putAccount(INITECH);
}
