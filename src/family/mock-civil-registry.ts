import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import { normalizeNameForRegistry, simulatedRegistryCall, type MockRegistryBehaviour } from '../verification/mock-registries.ts';
import {
  parseDate, validateBirthCertificateNumber, validateBirthCertificateSeries, validateGender, validateSnils, type Validated,
} from '../shared/validators.ts';
import type { BirthRecordQuery, CivilRegistry } from './civil-registry.ts';
import type { ChildField, RegistryParent } from './family.tables.ts';

/**
 * The mock ЗАГС over `mock_civil_registry_records`. Like the mock МВД/СФР it answers after
 * `latencyMs` and fails (a registry timeout) in a `failureRate` share of calls; `random` is
 * injectable so tests decide exactly which calls fail. Names compare case-insensitively with ё = е.
 * The issuing office is free text people abbreviate in many ways, so it is not compared.
 */
export function createMockCivilRegistry(options: { db: DbOrTrx } & MockRegistryBehaviour): CivilRegistry {
  const { db } = options;
  const call = simulatedRegistryCall(options);

  return {
    async checkBirthRecord(query: BirthRecordQuery) {
      await call('ЗАГС');
      const record = await db
        .selectFrom('mock_civil_registry_records')
        .selectAll()
        .where('cert_series', '=', query.certificate.series)
        .where('cert_number', '=', query.certificate.number)
        .executeTakeFirst();
      if (!record || !record.parents.some((parent) => sameParent(parent, query.applicant))) return { ok: false, reason: 'certificate_not_found' };

      const { child } = query;
      const fields: ChildField[] = [];
      const compare = (field: ChildField, equal: boolean) => {
        if (!equal) fields.push(field);
      };
      compare('last_name', sameName(record.last_name, child.lastName));
      compare('first_name', sameName(record.first_name, child.firstName));
      compare('middle_name', sameName(record.middle_name, child.middleName));
      compare('birth_date', record.birth_date === child.birthDate);
      compare('gender', record.gender === child.gender);
      // SNILS is optional on the form; when given it must be the one the record knows.
      if (child.snils !== null) compare('snils', record.snils === child.snils);
      compare('cert_issue_date', record.cert_issue_date === query.certificate.issueDate);
      return fields.length ? { ok: false, reason: 'data_mismatch', fields } : { ok: true };
    },
  };
}

const sameName = (a: string | null, b: string | null): boolean => normalizeNameForRegistry(a) === normalizeNameForRegistry(b);

function sameParent(parent: RegistryParent, applicant: RegistryParent): boolean {
  return (
    sameName(parent.lastName, applicant.lastName) && sameName(parent.firstName, applicant.firstName) &&
    sameName(parent.middleName, applicant.middleName) && parent.birthDate === applicant.birthDate
  );
}

const validated = <T extends string>(check: (value: string) => Validated<T>) =>
  z.string().transform((value, ctx): T => {
    const result = check(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.reason });
    return z.NEVER;
  });

const person = { lastName: z.string().min(1), firstName: z.string().min(1), middleName: z.string().min(1).nullable().optional(), birthDate: validated(parseDate) };

const seedSchema = z.object({
  birthRecords: z.array(
    z.object({
      certificate: z.object({ series: validated(validateBirthCertificateSeries), number: validated(validateBirthCertificateNumber), issueDate: validated(parseDate), issuedBy: z.string().min(1) }),
      child: z.object({ ...person, gender: validated(validateGender), snils: validated(validateSnils).nullable().optional() }),
      parents: z.array(z.object(person)).min(1),
    }),
  ),
});

/**
 * Loads the demo birth records (config/mock-civil-registry.json) into `mock_civil_registry_records`,
 * upserting by certificate, so it is safe on every start. Refuses the whole file when any record is
 * malformed. Returns how many records it wrote.
 */
export async function loadMockCivilRegistrySeed(db: Db, filePath: string): Promise<number> {
  const parsed = seedSchema.safeParse(JSON.parse(await readFile(filePath, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${filePath}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const rows = parsed.data.birthRecords.map(({ certificate, child, parents }) => ({
    cert_series: certificate.series,
    cert_number: certificate.number,
    cert_issue_date: certificate.issueDate,
    cert_issued_by: certificate.issuedBy,
    last_name: child.lastName,
    first_name: child.firstName,
    middle_name: child.middleName ?? null,
    birth_date: child.birthDate,
    gender: child.gender,
    snils: child.snils ?? null,
    parents: JSON.stringify(parents.map((p) => ({ lastName: p.lastName, firstName: p.firstName, middleName: p.middleName ?? null, birthDate: p.birthDate }))),
  }));
  await db.transaction().execute(async (trx) => {
    for (const row of rows) {
      await trx.insertInto('mock_civil_registry_records').values(row).onConflict((oc) => oc.columns(['cert_series', 'cert_number']).doUpdateSet(row)).execute();
    }
  });
  return rows.length;
}
