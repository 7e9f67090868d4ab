import type { DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { describeDevice } from './devices.ts';
import { notifySecurityEvent } from './security-notices.ts';
import type { LoginAttempt, LoginMethod } from './security.tables.ts';

/**
 * «История входов»: every attempt on an existing account — time, IP, browser, method, the service
 * the citizen was signing in to, and the outcome. Attempts on unknown logins have no citizen to
 * belong to: they only count for the limits.
 */
export const HISTORY_PAGE_SIZE = 20;

/** Why an attempt did not sign the citizen in (stable codes; the page translates them). */
export type AttemptReason =
  | 'wrong_password'
  | 'throttled'
  | 'locked'
  | 'ip_limited'
  | 'second_factor_requested'
  | 'second_factor_missing'
  | 'wrong_code'
  | 'code_reused'
  | 'code_expired'
  | 'too_many_codes';

export interface AttemptInput {
  citizen: Citizen;
  now: Date;
  ip: string;
  userAgent: string;
  method: LoginMethod;
  client?: { id: string; name: string };
  succeeded: boolean;
  reason?: AttemptReason;
}

/**
 * Records an attempt. A successful one from a device this citizen never signed in from before
 * (and they have signed in before) sends a new-device notice, in the same transaction.
 */
export async function recordLoginAttempt(trx: DbOrTrx, input: AttemptInput): Promise<void> {
  const userAgent = input.userAgent.slice(0, 512);
  const device = describeDevice(userAgent, input.ip);
  let newDevice = false;
  if (input.succeeded) {
    // Two EXISTS probes (each stops at the first row, on login_attempts_device_idx) rather than
    // counting every successful login the citizen ever made: the answer only needs "any?" twice.
    const earlier = await trx
      .selectNoFrom((eb) => [
        eb.exists(eb.selectFrom('login_attempts').select('id').where('citizen_oid', '=', input.citizen.oid).where('succeeded', '=', true)).as('signed_in_before'),
        eb.exists(eb.selectFrom('login_attempts').select('id').where('citizen_oid', '=', input.citizen.oid).where('succeeded', '=', true).where('device_key', '=', device.key)).as('from_device'),
      ])
      .executeTakeFirstOrThrow();
    newDevice = Boolean(earlier.signed_in_before) && !earlier.from_device;
  }
  await trx
    .insertInto('login_attempts')
    .values({
      citizen_oid: input.citizen.oid,
      created_at: input.now,
      ip: input.ip,
      user_agent: userAgent,
      device_key: device.key,
      method: input.method,
      client_id: input.client?.id ?? null,
      client_name: input.client?.name ?? null,
      succeeded: input.succeeded,
      reason: input.reason ?? null,
    })
    .execute();
  if (newDevice) {
    await notifySecurityEvent(trx, input.citizen, 'new_device', input.now, { device: `${device.browser}, ${device.os}, IP ${input.ip}` });
  }
}

/** One page of the citizen's attempts, newest first; `hasMore` when an older page exists. */
export async function listLoginAttempts(db: DbOrTrx, citizenOid: string, page: number): Promise<{ attempts: LoginAttempt[]; hasMore: boolean }> {
  const rows = await db
    .selectFrom('login_attempts')
    .selectAll()
    .where('citizen_oid', '=', citizenOid)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(HISTORY_PAGE_SIZE + 1)
    .offset((page - 1) * HISTORY_PAGE_SIZE)
    .execute();
  return { attempts: rows.slice(0, HISTORY_PAGE_SIZE), hasMore: rows.length > HISTORY_PAGE_SIZE };
}
