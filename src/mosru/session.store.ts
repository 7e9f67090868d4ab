import { randomBytes } from 'node:crypto';
import type { Clock } from '../shared/clock.ts';

/**
 * Server-side state of the mock Mos.ru, kept IN MEMORY for this first version: a restart signs
 * everybody out and a second instance would not see the first one's sessions. Persistent tables
 * (with the same shape) come with a later issue; the routes only see the two store interfaces.
 */

/** What /login must remember until /callback: the checks openid-client needs. Ten minutes at most. */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  expiresAt: number;
}

export interface MosruSession {
  id: string;
  /** The citizen's OID (`sub` of the ID token). */
  sub: string;
  /** The IdP session id (`sid` of the ID token): back-channel logout names the session by it. */
  sid: string | undefined;
  name: string;
  /** What the userinfo endpoint returned, shown on the home page. */
  claims: Record<string, unknown>;
  /** Kept for RP-initiated logout (`id_token_hint`) only. */
  idToken: string;
  /** Revoked at the IdP when the citizen signs out here. */
  refreshToken: string | undefined;
  /** Guards POST /logout. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export const LOGIN_TRANSACTION_TTL_MS = 10 * 60_000;
export const SESSION_TTL_MS = 8 * 60 * 60_000;
// Anyone can start logins; a bound keeps a /login flood from growing the heap without limit.
const MAX_TRANSACTIONS = 10_000;
const MAX_SESSIONS = 100_000;

export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

export interface LoginTransactionStore {
  /** Stores the transaction under a new random id (the cookie value) and returns the id. */
  create(data: Omit<LoginTransaction, 'expiresAt'>): string;
  /** Returns the transaction once: it is deleted on read, so a callback cannot be replayed. */
  take(id: string | undefined): LoginTransaction | undefined;
}

export interface SessionStore {
  create(data: Omit<MosruSession, 'id' | 'csrfToken' | 'createdAt' | 'expiresAt'>): MosruSession;
  find(id: string | undefined): MosruSession | undefined;
  destroy(id: string | undefined): MosruSession | undefined;
  /** Back-channel logout: ends the sessions of that IdP session (`sid`), or every session of `sub` when no sid is given. */
  destroyMatching(match: { sub?: string; sid?: string }): number;
}

export function createLoginTransactionStore(clock: Clock): LoginTransactionStore {
  const transactions = new ExpiringMap<LoginTransaction>(clock, MAX_TRANSACTIONS);
  return {
    create(data) {
      const id = randomId();
      transactions.set(id, { ...data, expiresAt: clock.now().getTime() + LOGIN_TRANSACTION_TTL_MS });
      return id;
    },
    take(id) {
      const transaction = transactions.get(id);
      if (id) transactions.delete(id);
      return transaction;
    },
  };
}

export function createSessionStore(clock: Clock): SessionStore {
  const sessions = new ExpiringMap<MosruSession>(clock, MAX_SESSIONS);
  return {
    create(data) {
      const now = clock.now().getTime();
      const session: MosruSession = { ...data, id: randomId(), csrfToken: randomId(), createdAt: now, expiresAt: now + SESSION_TTL_MS };
      sessions.set(session.id, session);
      return session;
    },
    find(id) {
      return sessions.get(id);
    },
    destroy(id) {
      const session = sessions.get(id);
      if (id) sessions.delete(id);
      return session;
    },
    destroyMatching({ sub, sid }) {
      if (!sub && !sid) return 0;
      let count = 0;
      for (const session of sessions.values()) {
        const matches = sid ? session.sid === sid && (!sub || session.sub === sub) : session.sub === sub;
        if (matches) {
          sessions.delete(session.id);
          count += 1;
        }
      }
      return count;
    },
  };
}

/** A Map whose entries stop existing at `expiresAt`; expired entries are swept as new ones arrive. */
class ExpiringMap<T extends { expiresAt: number }> {
  readonly #entries = new Map<string, T>();
  readonly #clock: Clock;
  readonly #max: number;
  #nextSweep = 0;

  constructor(clock: Clock, max: number) {
    this.#clock = clock;
    this.#max = max;
  }

  get(key: string | undefined): T | undefined {
    if (!key) return undefined;
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= this.#clock.now().getTime()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: T): void {
    this.#sweep();
    // Insertion order is age order: past the bound, the oldest entry goes first.
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  *values(): IterableIterator<T> {
    const now = this.#clock.now().getTime();
    for (const entry of [...this.#entries.values()]) if (entry.expiresAt > now) yield entry;
  }

  #sweep(): void {
    const now = this.#clock.now().getTime();
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 60_000;
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }
}
