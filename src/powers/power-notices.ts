import type { DbOrTrx } from '../db/database.ts';
import { notifyCitizen } from '../sessions/notification-settings.ts';
import { lastDayOf } from './power-form.ts';
import { listOrganisationManagers } from './powers.repository.ts';
import type { PrincipalKind } from './powers.table.ts';

/** What happened to a power, as the `power_of_attorney` notice tells it (notifications/templates.ts). */
export type PowerEvent = 'activated' | 'revoked' | 'renounced' | 'expired' | 'ended_account_deleted';

interface PowerSides {
  id: string;
  principal: { kind: PrincipalKind; oid: string };
  representative: { oid: string };
  validTo: Date;
}

/**
 * The citizens who stand for the principal: the citizen, or the organisation's head and admins
 * (they sign its powers, so they hear about them).
 */
export async function principalSideCitizens(db: DbOrTrx, principal: { kind: PrincipalKind; oid: string }): Promise<string[]> {
  return principal.kind === 'citizen' ? [principal.oid] : listOrganisationManagers(db, principal.oid);
}

/**
 * Tells both sides, in the transaction of the change. The notice names the power by number only —
 * no names, no rights in words — so an SMS says nothing personal and a deleted account leaves no
 * trace in the other side's messages; the details are in the account («Доверенности»).
 * `except` leaves out a citizen who must not be written to (one whose account is being deleted).
 */
export async function notifyPowerSides(db: DbOrTrx, power: PowerSides, event: PowerEvent, now: Date, except?: string): Promise<void> {
  const payload = { event, powerId: power.id, validTo: lastDayOf(power.validTo) };
  const representative = power.representative.oid;
  const principalSide = power.principal.kind === 'organisation' ? 'organisation' : 'principal';
  for (const oid of await principalSideCitizens(db, power.principal)) {
    // An organisation's admin who holds its power hears once, as the representative.
    if (oid === except || oid === representative) continue;
    await notifyCitizen(db, { oid, kind: 'security', template: 'power_of_attorney', payload: { ...payload, side: principalSide }, now });
  }
  if (representative !== except) {
    await notifyCitizen(db, { oid: representative, kind: 'security', template: 'power_of_attorney', payload: { ...payload, side: 'representative' }, now });
  }
}
