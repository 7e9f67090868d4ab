import type { Generated } from 'kysely';

export type CodeChannel = 'sms' | 'email' | 'post';

export interface OneTimeCodesTable {
  id: Generated<string>;
  purpose: string;
  flow_id: string;
  channel: CodeChannel;
  recipient: string;
  code_hash: string;
  attempts_left: number;
  expires_at: Date;
  consumed_at: Date | null;
  created_at: Generated<Date>;
}
