import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { validateOgrn, validateOgrnip, validateOrganisationInn, validatePersonalInn, validateSnils } from '../shared/validators.ts';
import type { OrganisationKind } from './organisations.tables.ts';

/**
 * The state register of legal entities and sole proprietors (ЕГРЮЛ / ЕГРИП), asked while a citizen
 * adds an organisation. Called in the request, outside any transaction; a real register would sit
 * behind the same interface.
 */
export interface BusinessRegistry {
  /** The record with exactly this INN and OGRN (OGRNIP) of this kind, or undefined when the register has none. */
  lookup(kind: OrganisationKind, inn: string, ogrn: string): Promise<RegistryRecord | undefined>;
}

export interface RegistryRecord {
  status: 'active' | 'liquidated';
  fullName: string;
  shortName: string | null;
  kpp: string | null;
  /** The head (for a sole proprietor, the entrepreneur); `snils` as 11 digits. */
  head: { snils: string; lastName: string; firstName: string; middleName: string | null };
}

export const MOCK_BUSINESS_REGISTRY_FILE = fileURLToPath(new URL('../../config/mock-business-registry.json', import.meta.url));

const checked = (check: (value: string) => { ok: true; value: string } | { ok: false; reason: string }) =>
  z.string().transform((value, ctx) => {
    const result = check(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.reason });
    return z.NEVER;
  });

const head = z.object({
  snils: checked(validateSnils),
  lastName: z.string().min(1),
  firstName: z.string().min(1),
  middleName: z.string().min(1).nullable().optional(),
});
const common = {
  status: z.enum(['active', 'liquidated']),
  fullName: z.string().min(1),
  shortName: z.string().min(1).nullable().optional(),
  head,
};
const fileSchema = z.object({
  organisations: z.array(
    z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('legal'), inn: checked(validateOrganisationInn), ogrn: checked(validateOgrn), kpp: z.string().regex(/^\d{9}$/).nullable().optional(), ...common }),
      z.object({ kind: z.literal('sole_proprietor'), inn: checked(validatePersonalInn), ogrn: checked(validateOgrnip), ...common }),
    ]),
  ),
});

type RegistryEntry = RegistryRecord & { kind: OrganisationKind; inn: string; ogrn: string };

/** A register over a fixed list of records (the mock file, or a test's own). */
export function createInMemoryBusinessRegistry(entries: readonly RegistryEntry[]): BusinessRegistry {
  const byKey = new Map(entries.map((entry) => [`${entry.kind}:${entry.inn}:${entry.ogrn}`, entry]));
  return {
    async lookup(kind, inn, ogrn) {
      const entry = byKey.get(`${kind}:${inn}:${ogrn}`);
      if (!entry) return undefined;
      const { kind: _kind, inn: _inn, ogrn: _ogrn, ...record } = entry;
      return structuredClone(record);
    },
  };
}

/** Parses the mock register file; refuses the whole file when any record is malformed (a bad checksum). */
export function parseBusinessRegistryFile(json: string, source = 'mock business registry'): RegistryEntry[] {
  const parsed = fileSchema.safeParse(JSON.parse(json));
  if (!parsed.success) throw new Error(`${source}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return parsed.data.organisations.map((o) => ({
    kind: o.kind,
    inn: o.inn,
    ogrn: o.ogrn,
    status: o.status,
    fullName: o.fullName,
    shortName: o.shortName ?? null,
    kpp: o.kind === 'legal' ? (o.kpp ?? null) : null,
    head: { snils: o.head.snils, lastName: o.head.lastName, firstName: o.head.firstName, middleName: o.head.middleName ?? null },
  }));
}

const loaded = new Map<string, BusinessRegistry>();

/** The mock register over config/mock-business-registry.json, read once per process (the app is rebuilt on key rotation). */
export function mockBusinessRegistry(filePath = MOCK_BUSINESS_REGISTRY_FILE): BusinessRegistry {
  let registry = loaded.get(filePath);
  if (!registry) {
    registry = createInMemoryBusinessRegistry(parseBusinessRegistryFile(readFileSync(filePath, 'utf8'), filePath));
    loaded.set(filePath, registry);
  }
  return registry;
}
