import type { Citizen } from '../citizens/citizen.table.ts';

/**
 * Which claims each scope releases. ESIA scope names (`fullname`, `mobile`) sit beside the
 * standard OIDC ones (`profile`, `phone`) they alias.
 */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'family_name', 'given_name', 'middle_name'],
  fullname: ['name', 'family_name', 'given_name', 'middle_name'],
  email: ['email'],
  phone: ['phone_number'],
  mobile: ['phone_number'],
} as const;

export const SUPPORTED_SCOPES = [...Object.keys(SCOPE_CLAIMS), 'offline_access'];

/** Every claim we hold for a citizen; oidc-provider releases only those the granted scopes allow. */
export function citizenClaims(citizen: Citizen): Record<string, unknown> {
  const name = [citizen.last_name, citizen.first_name, citizen.middle_name].filter(Boolean).join(' ');
  return {
    sub: citizen.oid,
    name,
    family_name: citizen.last_name,
    given_name: citizen.first_name,
    ...(citizen.middle_name ? { middle_name: citizen.middle_name } : {}),
    ...(citizen.email ? { email: citizen.email } : {}),
    ...(citizen.phone ? { phone_number: `+${citizen.phone}` } : {}),
  };
}
