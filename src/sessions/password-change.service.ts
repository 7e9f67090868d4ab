import type Provider from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { newPasswordProblems } from '../registration/registration.service.ts';
import { sendPendingLogouts } from './backchannel-logout.ts';
import { notifyCitizen } from './notification-settings.ts';
import { endSessionsInTransaction } from './sessions.service.ts';

/**
 * Changing the password from inside the account. The current password is asked again (a borrowed,
 * signed-in browser must not be enough); the new one follows the ESIA rule. One transaction writes the
 * hash, the audit event, the security notice and the end of every OTHER session of the citizen (this
 * browser stays signed in): whoever else was signed in is out the moment the new password is in.
 * The services those sessions signed in to hear of it after the commit.
 */

/** Field → problem codes: `current_password.*`, the password rule's `password.*`, `new_password.*`. */
export type PasswordChangeProblems = { currentPassword?: string[]; password?: string[]; passwordRepeat?: string[] };

export type PasswordChangeOutcome = { result: 'changed'; sessionsEnded: number } | { result: 'invalid'; problems: PasswordChangeProblems };

export async function changePassword(
  deps: { provider: Provider; db: Db; hasher: PasswordHasher },
  input: { citizen: Citizen; currentPassword: string; password: string; passwordRepeat: string; currentSessionUid: string | undefined; now: Date; requestId?: string | null },
): Promise<PasswordChangeOutcome> {
  const { citizen } = input;
  const problems: PasswordChangeProblems = newPasswordProblems(input.password, input.passwordRepeat, { phone: citizen.phone, email: citizen.email, lastName: citizen.last_name });
  if (!input.currentPassword) problems.currentPassword = ['current_password.required'];
  else if (!(await deps.hasher.verify(citizen.password_hash, input.currentPassword))) problems.currentPassword = ['current_password.wrong'];
  else if (!problems.password && input.password === input.currentPassword) problems.password = ['new_password.same_as_current'];
  if (Object.keys(problems).length > 0) return { result: 'invalid', problems };

  const passwordHash = await deps.hasher.hash(input.password);
  const outcome = await deps.db.transaction().execute(async (trx) => {
    // Only over the hash the current password was checked against: of two racing changes, one wins.
    const updated = await trx
      .updateTable('citizens')
      .set({ password_hash: passwordHash, updated_at: input.now })
      .where('oid', '=', citizen.oid)
      .where('password_hash', '=', citizen.password_hash)
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) return undefined;
    const ended = await endSessionsInTransaction(trx, {
      oid: citizen.oid,
      which: { allExcept: input.currentSessionUid },
      reason: 'password_changed',
      requestId: input.requestId,
    });
    await recordAudit(trx, {
      type: 'password.changed',
      citizenOid: citizen.oid,
      actor: { type: 'citizen', oid: citizen.oid },
      details: { sessionsEnded: ended.count },
      requestId: input.requestId,
    });
    await notifyCitizen(trx, { oid: citizen.oid, kind: 'security', template: 'security_notice', payload: { event: 'password_changed', at: input.now.toISOString() }, now: input.now });
    return ended;
  });
  if (!outcome) return { result: 'invalid', problems: { currentPassword: ['current_password.wrong'] } };
  await sendPendingLogouts(deps.provider, citizen.oid, outcome.logouts);
  return { result: 'changed', sessionsEnded: outcome.count };
}
