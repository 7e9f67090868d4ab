import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.ts';
import type { Account, LoginPurpose, MosruDatabase, PendingProfile } from './mosru.tables.ts';
import { randomToken, tokenId } from './tokens.ts';

/**
 * Server-side state of a browser at Mos.ru, in the `mosru` tables: sessions, the login
 * transactions that wait for the IdP's callback, and registrations started through Госуслуги.
 * The cookie holds a random value; the table holds its SHA-256. Expired rows are ignored on read
 * and swept now and then.
 */
type Db = Kysely<MosruDatabase>;

export const LOGIN_TRANSACTION_TTL_MS = 10 * 60_000;
export const PENDING_REGISTRATION_TTL_MS = 30 * 60_000;
export const SESSION_TTL_MS = 8 * 60 * 60_000;

export interface LoginTransaction {
  purpose: LoginPurpose;
  state: string;
  nonce: string;
  codeVerifier: string;
  accountId: string | null;
}

export interface MosruSession {
  account: Account;
  oidcSub: string | null;
  oidcSid: string | null;
  idToken: string | null;
}

export interface PendingRegistration {
  oid: string;
  oidcSid: string | null;
  idToken: string;
  profile: PendingProfile;
}

/** Stores the transaction and returns the cookie value naming it. */
export async function createLoginTransaction(db: Db, clock: Clock, data: LoginTransaction): Promise<string> {
  const token = randomToken();
  await db
    .insertInto('mosru.login_transactions')
    .values({
      id: tokenId(token),
      purpose: data.purpose,
      state: data.state,
      nonce: data.nonce,
      code_verifier: data.codeVerifier,
      account_id: data.accountId,
      expires_at: new Date(clock.now().getTime() + LOGIN_TRANSACTION_TTL_MS),
    })
    .execute();
  return token;
}

/** The transaction, once: deleting it is the read, so two callbacks cannot both use it. */
export async function takeLoginTransaction(db: Db, clock: Clock, token: string | undefined): Promise<LoginTransaction | undefined> {
  if (!token) return undefined;
  const row = await db.deleteFrom('mosru.login_transactions').where('id', '=', tokenId(token)).returningAll().executeTakeFirst();
  if (!row || row.expires_at <= clock.now()) return undefined;
  return { purpose: row.purpose, state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, accountId: row.account_id };
}

export async function createSession(db: Db, clock: Clock, data: { accountId: string; oidcSub?: string; oidcSid?: string; idToken?: string }): Promise<string> {
  const token = randomToken();
  await db
    .insertInto('mosru.sessions')
    .values({
      id: tokenId(token),
      account_id: data.accountId,
      oidc_sub: data.oidcSub ?? null,
      oidc_sid: data.oidcSid ?? null,
      id_token: data.idToken ?? null,
      expires_at: new Date(clock.now().getTime() + SESSION_TTL_MS),
    })
    .execute();
  return token;
}

export async function findSession(db: Db, clock: Clock, token: string | undefined): Promise<MosruSession | undefined> {
  if (!token) return undefined;
  const row = await db
    .selectFrom('mosru.sessions as s')
    .innerJoin('mosru.accounts as a', 'a.id', 's.account_id')
    .selectAll('a')
    .select(['s.oidc_sub', 's.oidc_sid', 's.id_token'])
    .where('s.id', '=', tokenId(token))
    .where('s.expires_at', '>', clock.now())
    .executeTakeFirst();
  if (!row) return undefined;
  const { oidc_sub, oidc_sid, id_token, ...account } = row;
  return { account, oidcSub: oidc_sub, oidcSid: oidc_sid, idToken: id_token };
}

export async function destroySession(db: Db, token: string | undefined): Promise<void> {
  if (token) await db.deleteFrom('mosru.sessions').where('id', '=', tokenId(token)).execute();
}

/** Back-channel logout: the sessions of that IdP session (`sid`), or every session of `sub` when no sid is given. */
export async function destroySessionsOf(db: Db, match: { sub?: string; sid?: string }): Promise<number> {
  if (!match.sub && !match.sid) return 0;
  let query = db.deleteFrom('mosru.sessions');
  if (match.sid) {
    query = query.where('oidc_sid', '=', match.sid);
    if (match.sub) query = query.where('oidc_sub', '=', match.sub);
  } else {
    query = query.where('oidc_sub', '=', match.sub!);
  }
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function createPendingRegistration(db: Db, clock: Clock, data: PendingRegistration): Promise<string> {
  const token = randomToken();
  await db
    .insertInto('mosru.pending_registrations')
    .values({
      id: tokenId(token),
      oid: data.oid,
      oidc_sid: data.oidcSid,
      id_token: data.idToken,
      profile: JSON.stringify(data.profile),
      expires_at: new Date(clock.now().getTime() + PENDING_REGISTRATION_TTL_MS),
    })
    .execute();
  return token;
}

export async function findPendingRegistration(db: Db, clock: Clock, token: string | undefined): Promise<PendingRegistration | undefined> {
  if (!token) return undefined;
  const row = await db
    .selectFrom('mosru.pending_registrations')
    .selectAll()
    .where('id', '=', tokenId(token))
    .where('expires_at', '>', clock.now())
    .executeTakeFirst();
  return row && { oid: row.oid, oidcSid: row.oidc_sid, idToken: row.id_token, profile: row.profile };
}

export async function deletePendingRegistration(db: Db, token: string): Promise<boolean> {
  const result = await db.deleteFrom('mosru.pending_registrations').where('id', '=', tokenId(token)).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Removes expired rows; called now and then from requests rather than by a timer. */
export async function sweepExpired(db: Db, clock: Clock): Promise<void> {
  const now = clock.now();
  await db.deleteFrom('mosru.sessions').where('expires_at', '<=', now).execute();
  await db.deleteFrom('mosru.login_transactions').where('expires_at', '<=', now).execute();
  await db.deleteFrom('mosru.pending_registrations').where('expires_at', '<=', now).execute();
}
