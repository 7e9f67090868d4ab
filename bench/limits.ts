import argon2 from 'argon2';
import { importJWK, SignJWT, type JWK } from 'jose';
import pg from 'pg';

/** A bound measured on the same cores as the IdP, with the same parameters and the same code path. */
export interface Limit {
  name: 'argon2id verify' | 'RS256 sign' | 'PostgreSQL point read' | 'PostgreSQL commit';
  opsPerSecond: number;
  concurrency: number;
  detail: string;
}

/** Enough work in flight to keep libuv's whole thread pool busy (4 threads unless UV_THREADPOOL_SIZE). */
const CONCURRENCY = 8;

/**
 * argon2id verifications per second through the `argon2` package (libuv's thread pool, as the
 * IdP does it), at the IdP's parameters. A password login costs exactly one, so this is the
 * ceiling of logins per second on this machine.
 */
export async function measureArgon2Verify(params: { memoryKib: number; timeCost: number; parallelism: number }, seconds: number): Promise<Limit> {
  const hash = await argon2.hash('limit-probe-password', { type: argon2.argon2id, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism });
  const ops = await countFor(seconds, async () => {
    if (!(await argon2.verify(hash, 'limit-probe-password'))) throw new Error('argon2 verify failed');
  });
  return {
    name: 'argon2id verify',
    opsPerSecond: ops,
    concurrency: CONCURRENCY,
    detail: `m=${params.memoryKib} KiB, t=${params.timeCost}, p=${params.parallelism}; ${CONCURRENCY} in flight on ${process.env.UV_THREADPOOL_SIZE ?? 4} libuv threads`,
  };
}

/**
 * RS256 signatures per second with jose (WebCrypto, off the event loop — what oidc-provider uses
 * for ID tokens and JWT access tokens), with the IdP's own 2048-bit key and an ID-token-sized
 * payload. A token grant signs one JWT, so this is the ceiling of grants per second.
 */
export async function measureRs256Sign(privateJwk: JWK, seconds: number): Promise<Limit> {
  const key = await importJWK(privateJwk, 'RS256');
  const payload = {
    sub: '1000000001', aud: 'bench-rp', acr: 'standard', amr: ['pwd'], nonce: 'n-0S6_WzA2Mj', sid: 'gqFMy2c6APMGglqW5i3IDJXy96b-wtbjGoNNFtit9pk',
    'urn:esia:sbj': { 'urn:esia:sbj:typ': 'P', 'urn:esia:sbj:oid': 1000000001, 'urn:esia:sbj:nam': 'OID.1000000001' },
    'urn:esia:amd': 'PWD', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
  };
  const ops = await countFor(seconds, async () => {
    await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid }).setIssuedAt().setIssuer('http://127.0.0.1').setExpirationTime('3h').sign(key);
  });
  const bits = privateJwk.n ? Buffer.from(privateJwk.n, 'base64url').length * 8 : 0;
  return { name: 'RS256 sign', opsPerSecond: ops, concurrency: CONCURRENCY, detail: `jose SignJWT, RSA ${bits}-bit, ${CONCURRENCY} in flight` };
}

/**
 * What one IdP process gets from PostgreSQL on these cores: statements per second through `pg`
 * over a pool as large as the IdP's (DATABASE_POOL_SIZE), `inFlight` at a time as the load's
 * connections would have — a primary-key read of a citizen, and a one-row upsert committed on its
 * own (a rate-limit counter, as the token endpoints write one per request; each commit waits for
 * its WAL flush). A scenario that needs n statements per request cannot go faster than these ÷ n.
 */
export async function measurePostgres(url: string, poolSize: number, inFlight: number, seconds: number, citizens: { first: string; count: number }): Promise<Limit[]> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  try {
    let n = 0;
    const first = BigInt(citizens.first);
    const read = await countFor(seconds, async () => {
      const oid = String(first + BigInt(n++ % citizens.count));
      await pool.query('SELECT oid, last_name, first_name, phone, email FROM citizens WHERE oid = $1', [oid]);
    }, inFlight);
    const commit = await countFor(seconds, async () => {
      await pool.query(
        `INSERT INTO rate_limits (key, points, reset_at) VALUES ($1, 1, now() + interval '1 second')
         ON CONFLICT (key) DO UPDATE SET points = rate_limits.points + 1`,
        [`bench-limit:${n++ % 64}`],
      );
    }, inFlight);
    const how = `pg pool of ${poolSize} (the IdP's), ${inFlight} in flight`;
    return [
      { name: 'PostgreSQL point read', opsPerSecond: read, concurrency: inFlight, detail: `SELECT a citizen by primary key; ${how}` },
      { name: 'PostgreSQL commit', opsPerSecond: commit, concurrency: inFlight, detail: `one-row upsert, autocommit (WAL flush each); ${how}` },
    ];
  } finally {
    await pool.end();
  }
}

/** Operations per second of `operation`, `concurrency` at a time, for `seconds`. */
async function countFor(seconds: number, operation: () => Promise<void>, concurrency = CONCURRENCY): Promise<number> {
  let done = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await operation();
      done++;
    }
  }));
  return done / ((performance.now() - started) / 1000);
}
