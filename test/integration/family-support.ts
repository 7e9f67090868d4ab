import type { Db } from '../../src/db/database.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createMockCivilRegistry } from '../../src/family/mock-civil-registry.ts';
import type { ChildCheckWorkerDeps } from '../../src/family/child-check.worker.ts';
import type { RegistryParent } from '../../src/family/family.tables.ts';
import type { TestIdp } from '../support/idp.ts';
import { BrowserSession } from '../support/browser-session.ts';
import { signInToAccount } from '../support/account.ts';
import { giveIdentity } from '../support/identity.ts';

/**
 * What the «Дети» tests share: the parent as birth records name them, the ЗАГС check driven by
 * hand, and parents signed in to the account console.
 */

/** giveIdentity's citizen (makeCitizen's name, born 12.04.1985), as a birth record names a parent. */
export const PARENT: RegistryParent = { lastName: 'Тестов', firstName: 'Тест', middleName: 'Тестович', birthDate: '1985-04-12' };

/** The check worker's parts for processDueChildChecks: a mock ЗАГС that always answers at once, a silent log. */
export function childCheckWorker(db: Db, clock: Clock): ChildCheckWorkerDeps {
  return { db, clock, logger: createLogger({ level: 'silent' }), registry: createMockCivilRegistry({ db, latencyMs: 0, failureRate: 0 }) };
}

/** A browser signed in to the citizen's account console. */
export async function signedIn(idp: TestIdp, citizen: { login: string; password: string }): Promise<BrowserSession> {
  const browser = new BrowserSession();
  await signInToAccount(browser, idp.issuer, citizen);
  return browser;
}

/** A new citizen with giveIdentity's data verified at `level` (none when simplified), signed in. */
export async function signedInParent(idp: TestIdp, level: 'simplified' | 'standard' | 'confirmed' = 'standard') {
  const citizen = await idp.makeCitizen();
  if (level !== 'simplified') await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: level });
  return { ...citizen, browser: await signedIn(idp, citizen) };
}
