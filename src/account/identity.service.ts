import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { isUniqueViolation } from '../db/pg-errors.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { changeTrustLevel } from '../trust/trust.service.ts';
import { meetsLevel } from '../trust/trust-levels.ts';
import { notifyTrustLevelChanged } from '../verification/trust-notification.ts';
import {
  ADDRESS_FIELDS, changedFields, PASSPORT_FIELDS, PERSONAL_FIELDS, VERIFIED_PERSONAL_FIELDS,
  type AddressesData, type PassportData, type PersonalData,
} from './identity-forms.ts';
import { findPassport } from '../citizens/citizens.repository.ts';
import { findAddresses, invalidateVerification, lockCitizen, savePassportRow, saveAddressRow, updatePersonalData } from './identity.repository.ts';

/**
 * Saving the citizen's identity data. Data a registry check verified (names, birth date, SNILS,
 * passport) describes a standard or confirmed account; changing it makes the account simplified
 * until it is checked again, which the citizen must accept first (`confirmedDowngrade`).
 * Each save, its audit event and the downgrade happen in one transaction.
 */

export interface ChangeContext {
  oid: string;
  /** The citizen saw the warning that the account becomes simplified and chose to go on. */
  confirmedDowngrade: boolean;
  now: Date;
  requestId?: string | null;
}

export type SaveOutcome =
  | { result: 'saved'; fields: string[]; downgraded: boolean }
  | { result: 'unchanged' }
  /** Nothing was written: the change would end the account's level and needs the citizen's yes. */
  | { result: 'needs_confirmation'; verifiedFields: string[] };

const SNILS_INDEX = 'citizens_snils_key';

export type PersonalSaveOutcome = SaveOutcome | { result: 'snils_taken' };

export async function savePersonalData(db: Db, data: PersonalData, context: ChangeContext): Promise<PersonalSaveOutcome> {
  try {
    return await applyChange(db, context, 'personal', async (_trx, citizen) => {
      const fields = changedFields(citizen, data, PERSONAL_FIELDS);
      return { fields, verified: fields.filter((name) => VERIFIED_PERSONAL_FIELDS.includes(name)) };
    }, (trx) => updatePersonalData(trx, context.oid, data, context.now));
  } catch (error) {
    // The unique index is the arbiter: a check-then-insert would race with another account.
    if (isUniqueViolation(error) && (constraintOf(error) ?? SNILS_INDEX) === SNILS_INDEX) return { result: 'snils_taken' };
    throw error;
  }
}

export async function savePassport(db: Db, data: PassportData, context: ChangeContext): Promise<SaveOutcome> {
  return applyChange(db, context, 'passport', async (trx) => {
    const fields = changedFields(await findPassport(trx, context.oid) ?? {}, data, PASSPORT_FIELDS);
    return { fields, verified: fields };
  }, (trx) => savePassportRow(trx, context.oid, data, context.now));
}

const ADDRESS_AUDIT_NAMES = { PRG: 'registration_address', PLV: 'residence_address' } as const;

/** Addresses are not verified by the registries: changing them never changes the level. */
export async function saveAddresses(db: Db, data: AddressesData, context: Omit<ChangeContext, 'confirmedDowngrade'>): Promise<SaveOutcome> {
  return applyChange(db, { ...context, confirmedDowngrade: false }, 'addresses', async (trx) => {
    const current = await findAddresses(trx, context.oid);
    const differs = (type: 'PRG' | 'PLV'): boolean => {
      const before = current[type];
      const after = data[type];
      if (!before || !after) return Boolean(before) !== Boolean(after);
      return changedFields(before, after, ADDRESS_FIELDS).length > 0;
    };
    const fields = (['PRG', 'PLV'] as const).filter(differs).map((type) => ADDRESS_AUDIT_NAMES[type]);
    return { fields, verified: [] };
  }, async (trx) => {
    for (const type of ['PRG', 'PLV'] as const) await saveAddressRow(trx, context.oid, type, data[type], context.now);
  });
}

type Diff = (trx: DbOrTrx, citizen: Citizen) => Promise<{ fields: string[]; verified: string[] }>;

/**
 * The shape every identity save shares: lock the citizen, compare with what is stored (identical
 * values are no change), ask before a downgrade, then write, invalidate what was verified, lower
 * the level and record the audit event — together.
 */
async function applyChange(db: Db, context: ChangeContext, section: string, diff: Diff, write: (trx: DbOrTrx) => Promise<void>): Promise<SaveOutcome> {
  return db.transaction().execute(async (trx): Promise<SaveOutcome> => {
    const citizen = await lockCitizen(trx, context.oid);
    const { fields, verified } = await diff(trx, citizen);
    if (fields.length === 0) return { result: 'unchanged' };
    const downgrades = verified.length > 0 && meetsLevel(citizen.trust_level, 'standard');
    if (downgrades && !context.confirmedDowngrade) return { result: 'needs_confirmation', verifiedFields: verified };

    const actor = { type: 'citizen' as const, oid: context.oid };
    await write(trx);
    if (verified.length > 0) {
      // Even a simplified account's pending check verifies the old data, so it is superseded too.
      await invalidateVerification(trx, context.oid, context.now);
    }
    if (downgrades) {
      const previousLevel = await changeTrustLevel(trx, {
        citizenOid: context.oid, level: 'simplified', method: 'data_changed', actor, details: { section, fields: verified }, requestId: context.requestId, now: context.now,
      });
      // Like every level change, told to the citizen: someone using their session would be noticed.
      await notifyTrustLevelChanged(trx, citizen, { level: 'simplified', previousLevel }, context.now);
    }
    await recordAudit(trx, { type: 'profile.updated', citizenOid: context.oid, actor, details: { section, fields }, requestId: context.requestId });
    return { result: 'saved', fields, downgraded: downgrades };
  });
}

function constraintOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'constraint' in error && typeof error.constraint === 'string' ? error.constraint : undefined;
}
