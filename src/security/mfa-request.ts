/**
 * How a relying party requires a second factor: an essential `amr` claim request in the OIDC
 * `claims` parameter, for the ID token or userinfo, e.g.
 *   claims={"id_token":{"amr":{"essential":true,"values":["otp","sms"]}}}
 *   claims={"id_token":{"amr":{"essential":true,"value":"mfa"}}}
 * `mfa` accepts either factor; `otp` an authenticator app (or a recovery code); `sms` an SMS code.
 * A request naming only `pwd` (or nothing we know) requires nothing.
 */
export type SecondFactorKind = 'otp' | 'sms';

const ALL: SecondFactorKind[] = ['otp', 'sms'];

export function requestedSecondFactors(claims: unknown): Set<SecondFactorKind> | undefined {
  const parsed = typeof claims === 'string' ? parseJson(claims) : claims;
  if (!isObject(parsed)) return undefined;
  const accepted = new Set<SecondFactorKind>();
  for (const target of [parsed.id_token, parsed.userinfo]) {
    const request = isObject(target) ? target.amr : undefined;
    if (!isObject(request) || request.essential !== true) continue;
    const values = request.value !== undefined ? [request.value] : Array.isArray(request.values) ? request.values : [];
    for (const value of values) {
      if (value === 'mfa') ALL.forEach((kind) => accepted.add(kind));
      if (value === 'otp' || value === 'sms') accepted.add(value);
    }
  }
  return accepted.size ? accepted : undefined;
}

/** Whether a session's `amr` already has one of the accepted second factors. */
export function hasSecondFactor(amr: unknown, accepted: Set<SecondFactorKind>): boolean {
  return Array.isArray(amr) && amr.some((method) => accepted.has(method as SecondFactorKind));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
