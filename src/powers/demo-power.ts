import type { Db } from '../db/database.ts';
import { addYears, calendarDate } from '../shared/validators.ts';
import { addDays } from './power-form.ts';
import { activatePower, createDraftPower } from './powers.service.ts';

/**
 * Demo data: the principal gives the representative (named by SNILS, as a citizen would) the `view`
 * right at every service for a year, through the same use cases as the pages. Runs once: if the
 * principal has granted any power already, nothing is added.
 */
export async function seedDemoPower(db: Db, input: { principalOid: string; representativeSnils: string; now: Date }): Promise<void> {
  const existing = await db.selectFrom('powers_of_attorney').select('id').where('principal_citizen_oid', '=', input.principalOid).executeTakeFirst();
  if (existing) return;
  const today = calendarDate(input.now);
  const created = await createDraftPower(db, {
    actorOid: input.principalOid,
    form: { principal: 'self', representativeSnils: input.representativeSnils, rights: ['view'], clientIds: [], validFrom: today, validTo: addDays(addYears(today, 1), -1) },
    now: input.now,
  });
  if (created.result !== 'created') throw new Error(`demo power of attorney refused: ${JSON.stringify(created.problems)}`);
  await activatePower(db, { actorOid: input.principalOid, powerId: created.id, now: input.now });
}
