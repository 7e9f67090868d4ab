import type Provider from 'oidc-provider';
import type { Config } from './config/config.ts';
import { openDatabase, type DatabaseHandle } from './db/create-db.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createPasswordHasher, type PasswordHasher } from './citizens/passwords.ts';
import { resolveInstanceSecrets, type InstanceSecrets } from './oidc/keys.ts';
import type { ValidateClientMetadata } from './oidc/clients.service.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { createLogger, type Logger } from './shared/logger.ts';
import { createIdpApp } from './app.ts';

export interface IdpRuntime {
  config: Config;
  database: DatabaseHandle;
  secrets: InstanceSecrets;
  hasher: PasswordHasher;
  clock: Clock;
  logger: Logger;
  provider: Provider;
  validateClient: ValidateClientMetadata;
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
    const provider = createIdpApp({ config, db: database.db, clock, logger, hasher, ...secrets });
    const validateClient: ValidateClientMetadata = (metadata) => provider.Client.validate(metadata as never);
    return { config, database, secrets, hasher, clock, logger, provider, validateClient, close: () => database.close() };
  } catch (error) {
    await database.close();
    throw error;
  }
}
