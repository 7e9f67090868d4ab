import type { DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import type { TrustProgress } from './trust-levels.ts';

/** Reads what the citizen has done towards the next level from the areas that own it. */
export async function loadTrustProgress(db: DbOrTrx, citizen: Citizen): Promise<TrustProgress> {
  const [passport, check, letter] = await Promise.all([
    db.selectFrom('citizen_documents').select('id').where('citizen_oid', '=', citizen.oid).where('type', '=', 'RF_PASSPORT').executeTakeFirst(),
    db.selectFrom('registry_checks').select(['status', 'reason_code']).where('citizen_oid', '=', citizen.oid).orderBy('created_at', 'desc').limit(1).executeTakeFirst(),
    db.selectFrom('confirmation_letters').select('state').where('citizen_oid', '=', citizen.oid).orderBy('created_at', 'desc').limit(1).executeTakeFirst(),
  ]);
  return {
    level: citizen.trust_level,
    hasPersonalData: Boolean(citizen.birth_date && citizen.gender && citizen.birth_place && citizen.citizenship),
    hasSnils: Boolean(citizen.snils),
    hasPassport: Boolean(passport),
    registryCheck: check ? { status: check.status, reasonCode: check.reason_code } : undefined,
    letter: letter ? { state: letter.state } : undefined,
  };
}
