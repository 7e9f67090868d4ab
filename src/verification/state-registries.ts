import type { RegistryCheckSnapshot } from './verification.tables.ts';

/**
 * The state registries a registry check asks: МВД (passports) and СФР (SNILS). Production would
 * call СМЭВ here; development and tests use the mock in mock-registries.ts.
 *
 * A verdict is the registry's answer about the data. A registry that cannot answer (timeout,
 * outage) throws instead — the check is retried later, never rejected for it at once.
 */
export interface StateRegistries {
  checkPassport(snapshot: RegistryCheckSnapshot): Promise<PassportVerdict>;
  checkSnils(snapshot: RegistryCheckSnapshot): Promise<SnilsVerdict>;
}

export type PassportRejection = 'passport_not_found' | 'passport_invalid' | 'passport_mismatch';
export type SnilsRejection = 'snils_not_found' | 'snils_other_person';

export type PassportVerdict = { ok: true } | { ok: false; reason: PassportRejection };
export type SnilsVerdict = { ok: true } | { ok: false; reason: SnilsRejection };

/** Why a check ended rejected: a registry's answer, or the registries never answered. Message keys are `registry.reason.<code>`. */
export type RegistryRejection = PassportRejection | SnilsRejection | 'registry_unavailable';

/** A registry did not answer; worth asking again later. */
export class RegistryUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryUnavailableError';
  }
}
