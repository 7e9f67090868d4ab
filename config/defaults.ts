/**
 * Default settings. Every one can be overridden by the environment variable named beside it
 * (see README "Configuration"); src/config/config.ts validates the result.
 */
export const defaults = {
  port: 3000, // PORT
  host: '0.0.0.0', // HOST
  dataDir: './data', // DATA_DIR: where the embedded PGlite database lives when DATABASE_URL is unset
  mosruPort: 4000, // MOSRU_PORT
  logLevel: 'info', // LOG_LEVEL
  migrateOnStart: true, // MIGRATE_ON_START
  trustProxy: false, // TRUST_PROXY
  pruneIntervalSeconds: 300, // PRUNE_INTERVAL_SECONDS
  databasePoolSize: 10, // DATABASE_POOL_SIZE
  workers: 1, // IDP_WORKERS (or `npm start -- --workers N`): IdP processes sharing one port (node:cluster); >1 needs DATABASE_URL
  // OWASP's argon2id recommendation (m=19 MiB, t=2, p=1).
  argon2: { memoryKib: 19456, timeCost: 2, parallelism: 1 }, // ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM
  // Lifetimes in seconds. Access and ID token lifetimes follow ESIA.
  ttl: {
    accessToken: 3600, // ACCESS_TOKEN_TTL
    idToken: 10800, // ID_TOKEN_TTL
    authorizationCode: 60, // AUTHORIZATION_CODE_TTL
    refreshToken: 30 * 24 * 3600, // REFRESH_TOKEN_TTL
    session: 12 * 3600, // SESSION_TTL: absolute, counted from sign-in
    sessionIdle: 30 * 60, // SESSION_IDLE_TTL: a session unused this long ends (sliding)
    interaction: 30 * 60, // INTERACTION_TTL
    grant: 365 * 24 * 3600, // GRANT_TTL
  },
} as const;
