import { AsyncLocalStorage } from 'node:async_hooks';
import type { Middleware } from 'koa';
import { sql } from 'kysely';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/pg-errors.ts';
import type { Clock } from '../shared/clock.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { findClientMetadata } from './clients.repository.ts';

/**
 * oidc-provider's storage: one jsonb table for every model (sessions, codes, tokens, grants…),
 * with the fields it searches by lifted into indexed columns.
 */
/**
 * Client metadata is read on every token, introspection and authorization request; it changes only
 * through the CLI, so each process keeps it for a few seconds (a removed client stops working on
 * every instance within that time).
 */
const CLIENT_CACHE_MS = 10_000;

/**
 * oidc-provider looks a presented token up as every kind it might be, at once: introspection without
 * a hint asks for an AccessToken, ClientCredentials and RefreshToken with the same value (its
 * token_find.js). Token values are unique across kinds, so those concurrent lookups share one query.
 */
const TOKEN_MODELS = ['AccessToken', 'ClientCredentials', 'RefreshToken'] as const;
const isTokenModel = (model: string): boolean => (TOKEN_MODELS as readonly string[]).includes(model);

/**
 * Every use of a token makes oidc-provider read the token, then its grant by id, then (for tokens
 * that end with the session) the session by uid: three round trips in a row. The token's query
 * brings the other two along (one statement, one consistent snapshot), and they are kept for the
 * rest of *that request only* — the store below lives as long as one HTTP request
 * (`requestScopedReads`, mounted in app.ts) and is emptied by any write the request makes. Nothing
 * is shared between requests or instances, so a revoked grant or ended session is seen at once.
 */
const requestReads = new AsyncLocalStorage<Map<string, StoredRow | undefined>>();

export function requestScopedReads(): Middleware {
  return (_ctx, next) => requestReads.run(new Map(), next);
}

interface StoredRow {
  payload: unknown;
  expires_at: Date | null;
}

interface TokenRow extends StoredRow {
  model: string;
  grant_id: string | null;
  session_uid: string | null;
  grant_payload: unknown;
  grant_expires_at: Date | null;
  session_payload: unknown;
  session_expires_at: Date | null;
}

const grantKey = (id: string) => `Grant ${id}`;
const sessionKey = (uid: string) => `Session uid ${uid}`;

export function createAdapterClass(db: Db, clock: Clock, secretBox: SecretBox): new (model: string) => Adapter {
  /** Lookups of one token value in flight; forgotten as soon as they settle, so nothing is cached. */
  const tokenLookups = new Map<string, Promise<TokenRow[]>>();
  const findTokenRows = (id: string) => {
    let lookup = tokenLookups.get(id);
    if (!lookup) {
      lookup = whileAvailable(() => db
        .selectFrom('oidc_payloads as t')
        .leftJoin('oidc_payloads as g', (join) => join.on('g.model', '=', 'Grant').onRef('g.id', '=', 't.grant_id'))
        .leftJoin('oidc_payloads as s', (join) => join.on('s.model', '=', 'Session').on(sql.ref('s.uid'), '=', sql<string>`t.payload->>'sessionUid'`))
        .select([
          't.model', 't.payload', 't.expires_at', 't.grant_id', sql<string | null>`t.payload->>'sessionUid'`.as('session_uid'),
          'g.payload as grant_payload', 'g.expires_at as grant_expires_at', 's.payload as session_payload', 's.expires_at as session_expires_at',
        ])
        .where('t.model', 'in', [...TOKEN_MODELS])
        .where('t.id', '=', id)
        .execute() as Promise<TokenRow[]>).finally(() => tokenLookups.delete(id));
      tokenLookups.set(id, lookup);
    }
    return lookup;
  };
  /** Keeps what the token's query brought along for the rest of this request (if one is in scope). */
  const remember = (row: TokenRow) => {
    const reads = requestReads.getStore();
    if (!reads) return;
    if (row.grant_id) reads.set(grantKey(row.grant_id), row.grant_payload === null ? undefined : { payload: row.grant_payload, expires_at: row.grant_expires_at });
    if (row.session_uid) reads.set(sessionKey(row.session_uid), row.session_payload === null ? undefined : { payload: row.session_payload, expires_at: row.session_expires_at });
  };
  const live = (row: StoredRow | undefined): AdapterPayload | undefined =>
    row && !(row.expires_at && row.expires_at <= clock.now()) ? (row.payload as AdapterPayload) : undefined;
  /** A write in this request: what it read before may be stale now. */
  const forgetReads = () => requestReads.getStore()?.clear();

  const clients = new Map<string, { metadata: AdapterPayload | undefined; until: number }>();
  const findClient = async (id: string): Promise<AdapterPayload | undefined> => {
    const cached = clients.get(id);
    if (cached && cached.until > Date.now()) return cached.metadata;
    const metadata = (await whileAvailable(() => findClientMetadata(db, secretBox, id))) as AdapterPayload | undefined;
    if (clients.size > 1000) clients.clear();
    clients.set(id, { metadata, until: Date.now() + CLIENT_CACHE_MS });
    return metadata;
  };

  return class PostgresAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      forgetReads();
      const expiresAt = expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null;
      const row = {
        model: this.model,
        id,
        payload: payload as Record<string, unknown>,
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresAt,
      };
      await whileAvailable(() => db
        .insertInto('oidc_payloads')
        .values(row)
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet({
          payload: row.payload, grant_id: row.grant_id, user_code: row.user_code, uid: row.uid, expires_at: row.expires_at,
        }))
        .execute());
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // Clients live in their own table, managed by the CLI.
      if (this.model === 'Client') return findClient(id);
      if (isTokenModel(this.model)) {
        const row = (await findTokenRows(id)).find((r) => r.model === this.model);
        if (row) remember(row);
        return live(row);
      }
      const reads = requestReads.getStore();
      if (this.model === 'Grant' && reads?.has(grantKey(id))) return live(reads.get(grantKey(id)));
      return this.findBy('id', id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const reads = requestReads.getStore();
      if (this.model === 'Session' && reads?.has(sessionKey(uid))) return live(reads.get(sessionKey(uid)));
      return this.findBy('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findBy('user_code', userCode);
    }

    async destroy(id: string): Promise<void> {
      forgetReads();
      await whileAvailable(() => db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('id', '=', id).execute());
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      forgetReads();
      await whileAvailable(() => db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute());
    }

    /**
     * Atomic: of two requests racing with one authorization code (or refresh token), exactly one
     * marks it consumed; the other gets invalid_grant instead of a second set of tokens.
     */
    async consume(id: string): Promise<void> {
      forgetReads();
      const now = clock.now();
      const result = await whileAvailable(() => db
        .updateTable('oidc_payloads')
        .set((eb) => ({
          consumed_at: now,
          payload: eb.fn('jsonb_set', [eb.ref('payload'), eb.val('{consumed}'), eb.val(JSON.stringify(Math.floor(now.getTime() / 1000)))]),
        }))
        .where('model', '=', this.model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .executeTakeFirst());
      if (result.numUpdatedRows === 0n) throw new errors.InvalidGrant(`${this.model} already consumed`);
    }

    private async findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      const row = await whileAvailable(() => db
        .selectFrom('oidc_payloads')
        .select(['payload', 'expires_at'])
        .where('model', '=', this.model)
        .where(column, '=', value)
        .executeTakeFirst());
      if (!row || (row.expires_at && row.expires_at <= clock.now())) return undefined;
      return row.payload as AdapterPayload;
    }
  };
}

/**
 * oidc-provider turns anything its adapter throws into a 500 server_error. A database outage is
 * temporary, so it becomes RFC 6749's temporarily_unavailable with status 503 instead: JSON at
 * /token and friends, the error page (or a redirect to the client) at /auth. The original error
 * stays as `cause`, which is how our own error handler recognises it on interaction pages.
 * OIDCProviderError hides (expose=false) the error code of every status >= 500; this one is meant to be seen.
 */
async function whileAvailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    const unavailable = new errors.OIDCProviderError(503, 'temporarily_unavailable', { cause: error });
    unavailable.expose = true;
    unavailable.error_description = 'the service is temporarily unavailable, try again in a few seconds';
    throw unavailable;
  }
}

/** Deletes artifacts that expired more than `graceSeconds` ago; returns how many. */
export async function pruneExpiredArtifacts(db: Db, clock: Clock, graceSeconds = 60): Promise<number> {
  const cutoff = new Date(clock.now().getTime() - graceSeconds * 1000);
  const result = await db.deleteFrom('oidc_payloads').where('expires_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
