import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { announceOrganisationPowersEnded } from '../powers/powers.service.ts';

/**
 * What deleting a citizen's account does here (called by sessions/account-deletion.service.ts inside
 * its transaction, before the citizens row goes).
 *
 * An organisation whose chief deletes their account is deleted with it: the chief is the head the
 * state register names, nobody else can take the role over here, and an organisation nobody may
 * manage would keep its employees' access going unchecked. Its members, invitations (and powers of
 * attorney it gave) go by ON DELETE CASCADE; one audit event per organisation records it. The
 * representatives of its powers still in force are told first (the cascade would not tell them).
 */
export async function eraseMemberships(trx: DbOrTrx, citizenOid: string): Promise<void> {
  const headed = await trx
    .selectFrom('organisation_members')
    .select('organisation_oid')
    .where('citizen_oid', '=', citizenOid)
    .where(sql<boolean>`'chief' = ANY (roles)`)
    .execute();
  for (const { organisation_oid } of headed) {
    await announceOrganisationPowersEnded(trx, String(organisation_oid), citizenOid);
    await trx.deleteFrom('organisations').where('oid', '=', organisation_oid).execute();
    await recordAudit(trx, {
      type: 'organisation.deleted',
      citizenOid,
      actor: { type: 'citizen', oid: citizenOid },
      details: { organisationOid: String(organisation_oid), reason: 'chief_account_deleted' },
    });
  }
  await trx.deleteFrom('organisation_members').where('citizen_oid', '=', citizenOid).execute();
}

/**
 * Invitations addressed to the citizen (by their SNILS or e-mail, whatever the state) and those they
 * answered go. Invitations they sent stay with the organisation: `invited_by_oid` becomes NULL when
 * the citizens row is deleted (ON DELETE SET NULL).
 */
export async function eraseInvitations(trx: DbOrTrx, citizenOid: string): Promise<void> {
  const citizen = await trx.selectFrom('citizens').select(['snils', 'email']).where('oid', '=', citizenOid).executeTakeFirst();
  await trx
    .deleteFrom('organisation_invitations')
    .where((eb) =>
      eb.or([
        eb('decided_by_oid', '=', citizenOid),
        ...(citizen?.snils ? [eb('invitee_snils', '=', citizen.snils)] : []),
        ...(citizen?.email ? [eb('invitee_email', '=', citizen.email)] : []),
      ]),
    )
    .execute();
}
