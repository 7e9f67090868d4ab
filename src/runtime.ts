import type Provider from 'oidc-provider';
import type { Config } from './config/config.ts';
import { openDatabase, type DatabaseHandle } from './db/create-db.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createPasswordHasher, type PasswordHasher } from './citizens/passwords.ts';
import http from 'node:http';
import { keySetFingerprint, loadSigningKeys, resolveInstanceSecrets, type InstanceSecrets } from './oidc/keys.ts';
import type { ValidateClientMetadata } from './oidc/clients.service.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { createLogger, type Logger } from './shared/logger.ts';
import { createIdpApp } from './app.ts';
import { createMetrics } from './http/metrics.ts';

export interface IdpRuntime {
  config: Config;
  database: DatabaseHandle;
  secrets: InstanceSecrets;
  hasher: PasswordHasher;
  clock: Clock;
  logger: Logger;
  /** The app now serving; replaced when the signing keys change (see refreshSigningKeys). */
  readonly provider: Provider;
  /** The HTTP handler; always delegates to the current app. */
  handle: http.RequestListener;
  validateClient: ValidateClientMetadata;
  /** Reloads the signing keys and, when another instance (or the CLI) rotated them, swaps in a new app. */
  refreshSigningKeys(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Everything the IdP needs before it can serve: the database (migrated when configured), the
 * secrets, and the composed app. `main.ts`, the tests and the CLI all start from here.
 */
export async function createIdpRuntime(
  config: Config,
  options: { clock?: Clock; logger?: Logger; database?: DatabaseHandle } = {},
): Promise<IdpRuntime> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const database = options.database ?? (await openDatabase(config.database));
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(database.db);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    const secrets = await resolveInstanceSecrets(database.db, config);
    const hasher = createPasswordHasher(config.argon2);
    // oidc-provider fixes its keys at construction, so a key rotation builds a fresh app. All its
    // state lives in the database, so nothing is lost by swapping.
    const metrics = createMetrics({ db: database.db, pool: database.pool });
    const build = (signingKeys: typeof secrets.signingKeys) => createIdpApp({ config, db: database.db, clock, logger, hasher, metrics, ...secrets, signingKeys });
    let provider = build(secrets.signingKeys);
    let handler = provider.callback();
    let fingerprint = keySetFingerprint(secrets.signingKeys);
    return {
      config, database, secrets, hasher, clock, logger,
      get provider() {
        return provider;
      },
      handle: (req, res) => handler(req, res),
      validateClient: (metadata) => provider.Client.validate(metadata as never),
      async refreshSigningKeys() {
        const keys = await loadSigningKeys(database.db, config, secrets.secretBox);
        if (keySetFingerprint(keys) === fingerprint) return false;
        provider = build(keys);
        handler = provider.callback();
        fingerprint = keySetFingerprint(keys);
        secrets.signingKeys = keys;
        logger.info({ kids: keys.map((k) => k.kid) }, 'signing keys changed; now serving them');
        return true;
      },
      close: () => database.close(),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
