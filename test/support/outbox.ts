import type { Db } from '../../src/db/database.ts';

/**
 * Tests read codes where a citizen would: in the message sent to them (the outbox row),
 * never in logs.
 */
export async function messagesTo(db: Db, recipient: string) {
  return db.selectFrom('outbox_messages').selectAll().where('recipient', '=', recipient).orderBy('id', 'asc').execute();
}

export async function lastMessageTo(db: Db, recipient: string) {
  const messages = await messagesTo(db, recipient);
  const last = messages.at(-1);
  if (!last) throw new Error(`no message to ${recipient}`);
  return last;
}

/** The code in the newest message to `recipient` (payload.code). */
export async function lastCodeSentTo(db: Db, recipient: string): Promise<string> {
  const code = (await lastMessageTo(db, recipient)).payload.code;
  if (typeof code !== 'string') throw new Error(`the last message to ${recipient} has no code`);
  return code;
}
