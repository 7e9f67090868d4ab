/**
 * ESIA asks for an organisation's data with the organisation in the scope itself:
 * `openid org_fullname?org_oid=2000000001 org_ogrn?org_oid=2000000001`. oidc-provider knows scopes
 * only by name, so the scope guard rewrites such a request, before oidc-provider parses it, into
 * plain scope names plus the `org_oid` parameter, which is how the role choice reads it.
 */
const ORGANISATION_SUFFIX = /^([a-z_]+)\?org_oid=(.*)$/;

/**
 * Undefined when no scope carries `?org_oid=`. Scopes (or an `org_oid` parameter) naming different
 * organisations give an `org_oid` that names none ("a,b"), which the role choice refuses like an
 * organisation the citizen does not belong to (ESIA-007194).
 */
export function splitOrganisationScopes(scope: string, orgOidParam: unknown): { scope: string; orgOid: string } | undefined {
  const oids = new Set<string>();
  const names = scope.split(' ').map((s) => {
    const match = ORGANISATION_SUFFIX.exec(s);
    if (!match) return s;
    oids.add(match[2]);
    return match[1];
  });
  if (oids.size === 0) return undefined;
  if (typeof orgOidParam === 'string') oids.add(orgOidParam);
  return { scope: names.join(' '), orgOid: [...oids].join(',') };
}
