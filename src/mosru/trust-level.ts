/**
 * The IdP's trust levels as Mos.ru sees them: the `acr` values its discovery document lists, in
 * rising order. Mos.ru asks for a minimum with `acr_values` and checks the ID token's `acr`.
 */
export const TRUST_LEVELS = ['simplified', 'standard', 'confirmed'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

export function isTrustLevel(value: unknown): value is TrustLevel {
  return TRUST_LEVELS.includes(value as TrustLevel);
}

export function meetsLevel(acr: string | undefined, minimum: TrustLevel): boolean {
  return isTrustLevel(acr) && TRUST_LEVELS.indexOf(acr) >= TRUST_LEVELS.indexOf(minimum);
}

/** "Нужна стандартная учётная запись". */
export const TRUST_LEVEL_NAMES: Record<TrustLevel, string> = { simplified: 'упрощённая', standard: 'стандартная', confirmed: 'подтверждённая' };
