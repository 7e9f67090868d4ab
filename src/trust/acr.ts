import { TRUST_LEVELS, type TrustLevel } from '../citizens/citizen.table.ts';
import { trustRank } from './trust-levels.ts';

/**
 * The minimum trust level an RP asks for. Three ways, all honoured as minimums and combined
 * (the strictest wins): `acr_values` (the lowest listed level is the minimum the RP accepts),
 * an essential `acr` in the `claims` parameter (`value`, or the lowest of `values`), and ESIA's
 * `person_filter=conf_acc` (base64url-encoded, as ESIA sends it, or plain).
 */
export function requiredTrustLevel(input: { acrValues?: unknown; claims?: unknown; personFilter?: unknown }): TrustLevel | undefined {
  const candidates: TrustLevel[] = [];
  const fromAcrValues = lowest(typeof input.acrValues === 'string' ? input.acrValues.split(' ') : []);
  if (fromAcrValues) candidates.push(fromAcrValues);

  const acrRequest = (input.claims as { id_token?: { acr?: { essential?: boolean; value?: unknown; values?: unknown } } } | undefined)?.id_token?.acr;
  if (acrRequest?.essential) {
    const fromClaims = lowest(acrRequest.value !== undefined ? [acrRequest.value] : Array.isArray(acrRequest.values) ? acrRequest.values : []);
    if (fromClaims) candidates.push(fromClaims);
  }

  if (typeof input.personFilter === 'string' && decodePersonFilter(input.personFilter).includes('conf_acc')) candidates.push('confirmed');

  return candidates.sort((a, b) => trustRank(b) - trustRank(a))[0];
}

function lowest(values: unknown[]): TrustLevel | undefined {
  const levels = values.filter((v): v is TrustLevel => TRUST_LEVELS.includes(v as TrustLevel));
  return levels.sort((a, b) => trustRank(a) - trustRank(b))[0];
}

function decodePersonFilter(value: string): string[] {
  const plain = /^[a-z_,]+$/.test(value) ? value : Buffer.from(value, 'base64url').toString('utf8');
  return plain.split(/[,\s]+/);
}

/**
 * What the RP learns when the citizen's level is too low and they go back: ESIA's code and text
 * (in Russian, as ESIA sends it).
 */
export function insufficientLevelDescription(required: TrustLevel): string {
  return required === 'confirmed'
    ? 'ESIA-007055: Вход в систему осуществляется с неподтверждённой учётной записью'
    : 'ESIA-007055: Вход в систему осуществляется с упрощённой учётной записью';
}
