import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import { parseDate, validatePassportNumber, validatePassportSeries, validateSnils } from '../shared/validators.ts';
import { RegistryUnavailableError, type StateRegistries } from './state-registries.ts';
import type { RegistryCheckSnapshot } from './verification.tables.ts';

/**
 * Mock МВД and СФР registries over the `mock_registry_persons` table. They answer after
 * `latencyMs` and fail (like a registry timeout) in a `failureRate` share of calls; `random` is
 * injectable so tests decide exactly which calls fail.
 */
export function createMockRegistries(options: { db: DbOrTrx } & MockRegistryBehaviour): StateRegistries {
  const { db } = options;
  const call = simulatedRegistryCall(options);

  return {
    async checkPassport(snapshot) {
      await call('МВД');
      const person = await db
        .selectFrom('mock_registry_persons')
        .selectAll()
        .where('passport_series', '=', snapshot.passport.series)
        .where('passport_number', '=', snapshot.passport.number)
        .executeTakeFirst();
      if (!person) return { ok: false, reason: 'passport_not_found' };
      // Someone else's passport: say only that it does not match, nothing about its validity.
      if (!samePerson(person, snapshot)) return { ok: false, reason: 'passport_mismatch' };
      if (!person.passport_valid) return { ok: false, reason: 'passport_invalid' };
      return { ok: true };
    },
    async checkSnils(snapshot) {
      await call('СФР');
      const person = await db.selectFrom('mock_registry_persons').selectAll().where('snils', '=', snapshot.snils).executeTakeFirst();
      if (!person) return { ok: false, reason: 'snils_not_found' };
      if (!samePerson(person, snapshot)) return { ok: false, reason: 'snils_other_person' };
      return { ok: true };
    },
  };
}

/** How a mock registry behaves: its answer's delay and the share of calls that time out. */
export interface MockRegistryBehaviour {
  latencyMs: number;
  failureRate: number;
  /** Injectable so that tests decide exactly which calls fail. */
  random?: () => number;
}

/**
 * Every mock registry's stand-in for the remote call: wait, then maybe time out. Never inside a
 * transaction (see background-check.ts).
 */
export function simulatedRegistryCall({ latencyMs, failureRate, random = Math.random }: MockRegistryBehaviour): (registry: string) => Promise<void> {
  return async (registry) => {
    if (latencyMs > 0) await sleep(latencyMs);
    if (failureRate > 0 && random() < failureRate) throw new RegistryUnavailableError(`${registry}: registry timeout`);
  };
}

/** Registries compare names case-insensitively and treat ё as е (documents spell it either way). */
export function normalizeNameForRegistry(name: string | null | undefined): string {
  return (name ?? '').trim().replace(/\s+/g, ' ').toLowerCase().replace(/ё/g, 'е');
}

function samePerson(
  person: { last_name: string; first_name: string; middle_name: string | null; birth_date: string },
  snapshot: RegistryCheckSnapshot,
): boolean {
  return (
    normalizeNameForRegistry(person.last_name) === normalizeNameForRegistry(snapshot.lastName) &&
    normalizeNameForRegistry(person.first_name) === normalizeNameForRegistry(snapshot.firstName) &&
    normalizeNameForRegistry(person.middle_name) === normalizeNameForRegistry(snapshot.middleName) &&
    person.birth_date === snapshot.birthDate
  );
}

const validated = (check: (value: string) => { ok: true; value: string } | { ok: false; reason: string }) =>
  z.string().transform((value, ctx) => {
    const result = check(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.reason });
    return z.NEVER;
  });

const seedSchema = z.object({
  persons: z.array(
    z.object({
      lastName: z.string().min(1),
      firstName: z.string().min(1),
      middleName: z.string().min(1).nullable().optional(),
      birthDate: validated(parseDate),
      snils: validated(validateSnils),
      passport: z.object({ series: validated(validatePassportSeries), number: validated(validatePassportNumber), valid: z.boolean().optional() }).optional(),
    }),
  ),
});

/**
 * Loads the demo registry records (config/mock-registry.json) into `mock_registry_persons`,
 * upserting by SNILS, so it is safe on every start. Refuses the whole file when any record is
 * malformed (a bad SNILS checksum, an impossible date). Returns how many records it wrote.
 */
export async function loadMockRegistrySeed(db: Db, filePath: string): Promise<number> {
  const parsed = seedSchema.safeParse(JSON.parse(await readFile(filePath, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${filePath}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const rows = parsed.data.persons.map((person) => ({
    last_name: person.lastName,
    first_name: person.firstName,
    middle_name: person.middleName ?? null,
    birth_date: person.birthDate,
    snils: person.snils,
    passport_series: person.passport?.series ?? null,
    passport_number: person.passport?.number ?? null,
    passport_valid: person.passport?.valid ?? true,
  }));
  await db.transaction().execute(async (trx) => {
    for (const row of rows) {
      await trx.insertInto('mock_registry_persons').values(row).onConflict((oc) => oc.column('snils').doUpdateSet(row)).execute();
    }
  });
  return rows.length;
}
