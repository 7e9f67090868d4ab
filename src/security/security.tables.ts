import type { ColumnType, Generated, Selectable } from 'kysely';

export interface SecondFactorsTable {
  citizen_oid: string;
  totp_secret_sealed: string | null;
  totp_enabled_at: Date | null;
  /** bigint: pg returns it as a string. */
  totp_last_step: ColumnType<string | null, number | null | undefined, number | null>;
  totp_pending_sealed: string | null;
  totp_pending_created_at: Date | null;
  sms_enabled_at: Date | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type SecondFactors = Selectable<SecondFactorsTable>;

export interface RecoveryCodesTable {
  id: Generated<string>;
  citizen_oid: string;
  code_hash: string;
  used_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface PendingLoginsTable {
  id: Generated<string>;
  interaction_uid: string;
  citizen_oid: string;
  throttle_key: string | null;
  attempts_left: number;
  created_at: Date;
  expires_at: Date;
}

export type PendingLogin = Selectable<PendingLoginsTable>;

export interface LoginThrottlesTable {
  key: string;
  failures: number;
  next_attempt_at: Date;
  locked_until: Date | null;
  updated_at: Date;
}

export interface RateLimitsTable {
  key: string;
  points: number;
  reset_at: Date;
}

export const LOGIN_METHODS = ['pwd', 'otp', 'sms', 'recovery'] as const;
export type LoginMethod = (typeof LOGIN_METHODS)[number];

export interface LoginAttemptsTable {
  id: Generated<string>;
  citizen_oid: string;
  created_at: Date;
  ip: string;
  user_agent: string;
  device_key: string;
  method: LoginMethod;
  client_id: string | null;
  client_name: string | null;
  succeeded: boolean;
  reason: string | null;
}

export type LoginAttempt = Selectable<LoginAttemptsTable>;
