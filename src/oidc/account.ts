import type { FindAccount } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import { answerVerifiedClaims, findVerificationRecord } from '../trust/verified-claims.ts';
import { citizenClaims, loadCitizenRecord, scopesNeedAddresses, scopesNeedDocuments } from './claims.ts';

/** RFC 8176 `amr` values → ESIA's `urn:esia:amd` names. */
const ESIA_AMD: Record<string, string> = { pwd: 'PWD', otp: 'OTP', sms: 'SMS', hwk: 'HWK', mfa: 'MFA' };

export function esiaAmd(amr: unknown): string | undefined {
  return Array.isArray(amr) && amr.length ? amr.map((m) => ESIA_AMD[String(m)] ?? String(m).toUpperCase()).join(',') : undefined;
}

/**
 * oidc-provider's `findAccount`: the citizen by OID, with claims built lazily for the scopes (and
 * `claims` parameter) actually granted. `token` is the code, refresh or access token the claims are
 * for; it carries the session's id and authentication methods.
 */
export function createFindAccount(db: Db): FindAccount {
  return async (_ctx, sub, token) => {
    const citizen = await findCitizenByOid(db, sub);
    if (!citizen) return undefined;
    return {
      accountId: citizen.oid,
      async claims(use, scope, requested) {
        // With conformIdTokenClaims (the default) the ID token carries only the `openid` scope's
        // claims plus what the `claims` parameter asks for: no need to load documents or addresses.
        const scopes = use === 'id_token' ? new Set(['openid']) : new Set(scope.split(' '));
        const asked = new Set(Object.keys(requested ?? {}));
        const wantsVerified = asked.has('verified_claims');
        const record = await loadCitizenRecord(db, citizen, {
          documents: scopesNeedDocuments(scopes) || wantsVerified || asked.has('urn:esia:id_doc'),
          addresses: scopesNeedAddresses(scopes) || asked.has('address') || asked.has('urn:esia:addresses'),
        });
        const claims = citizenClaims(record);
        const session = token as { sid?: string; sessionUid?: string; amr?: string[] } | undefined;
        if (session?.sid ?? session?.sessionUid) claims['urn:esia:sid'] = session.sid ?? session.sessionUid;
        const amd = esiaAmd(session?.amr);
        if (amd) claims['urn:esia:amd'] = amd;
        if (wantsVerified) {
          const verified = answerVerifiedClaims(requested!.verified_claims, { ...record, verification: await findVerificationRecord(db, citizen) });
          if (verified !== undefined) claims.verified_claims = verified;
        }
        return claims as { sub: string };
      },
    };
  };
}
