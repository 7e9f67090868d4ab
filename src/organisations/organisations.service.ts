import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { isUniqueViolation } from '../db/pg-errors.ts';
import { validateOgrn, validateOgrnip, validateOrganisationInn, validatePersonalInn, type ValidationReason } from '../shared/validators.ts';
import type { BusinessRegistry, RegistryRecord } from './business-registry.ts';
import type { OrganisationKind } from './organisations.tables.ts';

/**
 * Adding an organisation: a confirmed citizen names a legal entity (INN 10 + OGRN 13) or a sole
 * proprietor (INN 12 + OGRNIP 15); the numbers' control digits are checked, then the state register
 * must know exactly that pair, as active, with the citizen (by verified SNILS) as its head. The
 * organisation and the head's `chief` membership are written in one transaction.
 */

export type AddOrganisationField = 'kind' | 'inn' | 'ogrn';
export type AddOrganisationRefusal = 'not_found' | 'not_head' | 'liquidated' | 'already_registered';

export type AddOrganisationOutcome =
  | { result: 'added'; organisationOid: string }
  | { result: 'not_confirmed' }
  | { result: 'invalid'; errors: Partial<Record<AddOrganisationField, ValidationReason>> }
  | { result: 'refused'; reason: AddOrganisationRefusal };

export const ORGANISATION_KINDS: readonly OrganisationKind[] = ['legal', 'sole_proprietor'];

/** Only a confirmed account has a SNILS verified well enough to be matched against the register's head. */
export function mayAddOrganisation(citizen: Citizen): boolean {
  return citizen.trust_level === 'confirmed' && citizen.snils !== null;
}

export async function addOrganisation(
  db: Db,
  registry: BusinessRegistry,
  input: { citizen: Citizen; kind: string | undefined; inn: string | undefined; ogrn: string | undefined; now: Date; requestId?: string | null },
): Promise<AddOrganisationOutcome> {
  const { citizen } = input;
  if (!mayAddOrganisation(citizen)) return { result: 'not_confirmed' };
  const numbers = validateNumbers(input);
  if (!numbers.ok) return { result: 'invalid', errors: numbers.errors };
  const { kind, inn, ogrn } = numbers;

  if (await isRegistered(db, inn, ogrn)) return { result: 'refused', reason: 'already_registered' };
  // The register is asked outside any transaction: a slow register must not hold a connection's lock.
  const record = await registry.lookup(kind, inn, ogrn);
  const refusal = refusalFor(record, citizen);
  if (refusal || !record) return { result: 'refused', reason: refusal ?? 'not_found' };

  try {
    const organisationOid = await db.transaction().execute(async (trx) => {
      const { oid } = await trx
        .insertInto('organisations')
        .values({ kind, full_name: record.fullName, short_name: record.shortName, inn, ogrn, kpp: kind === 'legal' ? record.kpp : null, created_at: input.now })
        .returning('oid')
        .executeTakeFirstOrThrow();
      const organisationOid = String(oid);
      await trx.insertInto('organisation_members').values({ organisation_oid: organisationOid, citizen_oid: citizen.oid, roles: ['chief'], joined_at: input.now }).execute();
      await recordAudit(trx, {
        type: 'organisation.added',
        citizenOid: citizen.oid,
        actor: { type: 'citizen', oid: citizen.oid },
        details: { organisationOid, kind },
        requestId: input.requestId,
      });
      return organisationOid;
    });
    return { result: 'added', organisationOid };
  } catch (error) {
    // Two tabs adding the same organisation at once: the unique INN / OGRN lets one through.
    if (isUniqueViolation(error)) return { result: 'refused', reason: 'already_registered' };
    throw error;
  }
}

type CheckedNumbers = { ok: true; kind: OrganisationKind; inn: string; ogrn: string } | { ok: false; errors: Partial<Record<AddOrganisationField, ValidationReason>> };

/** INN and OGRN by the kind's rules: 10 + 13 digits for a legal entity, 12 + 15 for a sole proprietor. */
export function validateNumbers(input: { kind: string | undefined; inn: string | undefined; ogrn: string | undefined }): CheckedNumbers {
  const kind = ORGANISATION_KINDS.find((k) => k === input.kind);
  if (!kind) return { ok: false, errors: { kind: 'required' } };
  const inn = kind === 'legal' ? validateOrganisationInn(input.inn) : validatePersonalInn(input.inn);
  const ogrn = kind === 'legal' ? validateOgrn(input.ogrn) : validateOgrnip(input.ogrn);
  if (inn.ok && ogrn.ok) return { ok: true, kind, inn: inn.value, ogrn: ogrn.value };
  return { ok: false, errors: { ...(inn.ok ? {} : { inn: inn.reason }), ...(ogrn.ok ? {} : { ogrn: ogrn.reason }) } };
}

/** Why the register's answer does not let this citizen add the organisation, if it does not. */
function refusalFor(record: RegistryRecord | undefined, citizen: Citizen): AddOrganisationRefusal | undefined {
  if (!record) return 'not_found';
  if (record.status === 'liquidated') return 'liquidated';
  if (record.head.snils !== citizen.snils) return 'not_head';
  return undefined;
}

async function isRegistered(db: DbOrTrx, inn: string, ogrn: string): Promise<boolean> {
  const row = await db.selectFrom('organisations').select('oid').where((eb) => eb.or([eb('inn', '=', inn), eb('ogrn', '=', ogrn)])).executeTakeFirst();
  return row !== undefined;
}
