import type { FindAccount } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { sql } from 'kysely';
import type { Citizen } from '../citizens/citizen.table.ts';
import { findCitizenInRequest } from '../citizens/citizens.repository.ts';
import { findMergedOids, mergedOidsColumn } from '../merge/merge.repository.ts';
import { toChoice, type ChoiceKey } from '../acting/acting.repository.ts';
import { answerVerifiedClaims, findVerificationRecord } from '../trust/verified-claims.ts';
import { citizenClaims, loadCitizenRecord, scopesNeedAddresses, scopesNeedDocuments } from './claims.ts';
import type { ActingHooks, PrefetchedChoice } from '../acting/acting.oidc.ts';

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
export function createFindAccount(db: Db, acting: ActingHooks): FindAccount {
  return async (ctx, sub, token) => {
    // With a token (code exchange, refresh, userinfo) the citizen, their linked OIDs and — for codes
    // and refresh tokens — the stored role choice come in one statement; without one (the account
    // lookup at /auth) the citizen row is shared with the trust-level prompt of the same request.
    const read = token ? await readAccount(db, sub, acting.storedChoiceKey(token as never)) : undefined;
    const citizen = token ? read?.citizen : await findCitizenInRequest(db, ctx, sub);
    // An alias (linked into another account, src/merge) is nobody's account any more: its tokens
    // were ended at the link, and a token naming it must not resolve to someone else either.
    if (!citizen || citizen.merged_into_oid) return undefined;
    // The role chosen at login (src/acting). Lapsed (membership ended, power revoked): no account,
    // so the code or refresh token is refused and userinfo answers invalid_token.
    const actingClaims = await acting.identityClaimsFor(ctx, citizen.oid, token as never, read?.choice);
    if (!actingClaims) return undefined;
    return {
      accountId: citizen.oid,
      async claims(use, scope, requested) {
        // With conformIdTokenClaims (the default) the ID token carries only the `openid` scope's
        // claims plus what the `claims` parameter asks for: no need to load documents or addresses.
        const scopes = use === 'id_token' ? new Set(['openid']) : new Set(scope.split(' '));
        const asked = new Set(Object.keys(requested ?? {}));
        const wantsVerified = asked.has('verified_claims');
        const [record, mergedOids] = await Promise.all([
          loadCitizenRecord(db, citizen, {
            documents: scopesNeedDocuments(scopes) || wantsVerified || asked.has('urn:esia:id_doc'),
            addresses: scopesNeedAddresses(scopes) || asked.has('address') || asked.has('urn:esia:addresses'),
          }),
          read ? read.mergedOids : findMergedOids(db, citizen.oid),
        ]);
        const claims = citizenClaims({ ...record, mergedOids });
        const session = token as { sid?: string; sessionUid?: string; amr?: string[] } | undefined;
        if (session?.sid ?? session?.sessionUid) claims['urn:esia:sid'] = session.sid ?? session.sessionUid;
        const amd = esiaAmd(session?.amr);
        if (amd) claims['urn:esia:amd'] = amd;
        // The organisation's fields follow the granted org_* scopes in the ID token too; the list of
        // memberships (usr_org) is loaded only where it can be released.
        Object.assign(claims, await actingClaims(new Set(scope.split(' ')), scopes.has('usr_org') || asked.has('urn:esia:usr_org')));
        if (wantsVerified) {
          const verified = answerVerifiedClaims(requested!.verified_claims, { ...record, verification: await findVerificationRecord(db, citizen) });
          if (verified !== undefined) claims.verified_claims = verified;
        }
        return claims as { sub: string };
      },
    };
  };
}

/**
 * The citizen with the OIDs linked into them (as findMergedOids) and, given the key, the role choice
 * stored for that session and client by this citizen (as findChoice): one round trip instead of three.
 */
async function readAccount(db: Db, oid: string, choiceKey: ChoiceKey | undefined): Promise<{ citizen: Citizen; mergedOids: string[]; choice?: PrefetchedChoice } | undefined> {
  if (!/^\d{1,18}$/.test(oid)) return undefined;
  const row = await db
    .selectFrom('citizens')
    .selectAll('citizens')
    .select(mergedOidsColumn.as('merged_oids'))
    .select(choiceKey
      ? sql<{ kind: string; organisation_oid: string | null; power_id: string | null } | null>`(SELECT json_build_object('kind', c.kind, 'organisation_oid', c.organisation_oid::text, 'power_id', c.power_id::text) FROM acting_choices c WHERE c.session_uid = ${choiceKey.sessionUid} AND c.client_id = ${choiceKey.clientId} AND c.citizen_oid = citizens.oid)`.as('acting_choice')
      : sql<null>`NULL::json`.as('acting_choice'))
    .where('citizens.oid', '=', oid)
    .executeTakeFirst();
  if (!row) return undefined;
  const { merged_oids: mergedOids, acting_choice: choiceRow, ...citizen } = row;
  return { citizen, mergedOids, choice: choiceKey ? { choice: choiceRow ? toChoice(choiceRow as never) : undefined } : undefined };
}
