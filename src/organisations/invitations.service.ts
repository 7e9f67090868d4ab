import type { ExpressionBuilder } from 'kysely';
import type { Database, Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { findCitizenByLogin } from '../citizens/citizens.repository.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import { consumeRateLimit, type RateLimitPolicy } from '../security/rate-limits.ts';
import { normalizeEmail } from '../shared/contacts.ts';
import { validateSnils, type ValidationReason } from '../shared/validators.ts';
import { findMembership, type OrganisationSummary } from './memberships.ts';
import type { InvitationState, InvitedRole, OrgRole } from './organisations.tables.ts';
import { sortRoles } from './members.service.ts';

/**
 * Invitations to join an organisation. The chief or an admin names the invitee by SNILS or e-mail;
 * the invitation is created whether or not such an account exists (the inviter never learns which)
 * and shows to the citizen whose verified SNILS (standard or confirmed account) or confirmed e-mail
 * matches, who accepts or declines it in their account.
 *
 *   pending ──accept──▶ accepted      (the invitee: creates the membership with the invited roles)
 *           ──decline─▶ declined      (the invitee)
 *           ──cancel──▶ cancelled     (the chief or an admin)
 *           ──(14 days)▶ expired      (marked when someone acts on it after its expiry; never shown or usable after it)
 * Every transition is a locked read and an update of a row still `pending`, so accepting twice, or
 * accepting while it is being cancelled, changes it once.
 */

export const INVITATION_TTL_DAYS = 14;
/** Invitations one organisation may send: enough for onboarding a team, not for spamming a list of SNILS. */
export const INVITATION_RATE_LIMIT: RateLimitPolicy = { points: 30, windowSeconds: 60 * 60 };
const INVITABLE_ROLES: readonly InvitedRole[] = ['employee', 'admin'];

export type Invitee = { kind: 'snils'; value: string } | { kind: 'email'; value: string };

/** One field takes either: an e-mail has "@", anything else is read as a SNILS. */
export function parseInvitee(input: string | undefined): { ok: true; invitee: Invitee } | { ok: false; reason: ValidationReason } {
  const raw = (input ?? '').trim();
  if (raw === '') return { ok: false, reason: 'required' };
  if (raw.includes('@')) {
    const email = normalizeEmail(raw);
    return email ? { ok: true, invitee: { kind: 'email', value: email } } : { ok: false, reason: 'format' };
  }
  const snils = validateSnils(raw);
  return snils.ok ? { ok: true, invitee: { kind: 'snils', value: snils.value } } : { ok: false, reason: snils.reason };
}

export type InviteField = 'invitee' | 'role';
export type InviteOutcome =
  | { result: 'invited'; invitationId: string }
  | { result: 'forbidden' }
  | { result: 'invalid'; errors: Partial<Record<InviteField, string>> }
  | { result: 'rate_limited'; retryAfterSeconds: number };

export async function inviteMember(
  db: Db,
  input: { actor: Citizen; organisationOid: string; invitee: string | undefined; role: string | undefined; now: Date; requestId?: string | null },
): Promise<InviteOutcome> {
  const { actor, organisationOid, now } = input;
  const membership = await findMembership(db, actor.oid, organisationOid);
  if (!membership || !(membership.roles.includes('chief') || membership.roles.includes('admin'))) return { result: 'forbidden' };

  const errors: Partial<Record<InviteField, string>> = {};
  const role = INVITABLE_ROLES.find((r) => r === input.role);
  if (!role) errors.role = 'required';
  // Appointing admins is the chief's (as «Сменить администратора» is).
  else if (role === 'admin' && !membership.roles.includes('chief')) errors.role = 'admin_by_chief_only';
  const parsed = parseInvitee(input.invitee);
  if (!parsed.ok) errors.invitee = parsed.reason;
  else if (isSelf(actor, parsed.invitee)) errors.invitee = 'self';
  else if (await hasPendingInvitation(db, organisationOid, parsed.invitee, now)) errors.invitee = 'already_invited';
  if (!role || !parsed.ok || Object.keys(errors).length > 0) return { result: 'invalid', errors };
  const invitee = parsed.invitee;

  // Counted only for invitations that go out; one atomic statement shared by every instance.
  const limit = await consumeRateLimit(db, `org_invite:org:${organisationOid}`, INVITATION_RATE_LIMIT, now);
  if (!limit.allowed) return { result: 'rate_limited', retryAfterSeconds: limit.retryAfterSeconds };

  const roles: InvitedRole[] = role === 'admin' ? ['admin', 'employee'] : ['employee'];
  const invitationId = await db.transaction().execute(async (trx) => {
    const { id } = await trx
      .insertInto('organisation_invitations')
      .values({
        organisation_oid: organisationOid,
        invitee_snils: invitee.kind === 'snils' ? invitee.value : null,
        invitee_email: invitee.kind === 'email' ? invitee.value : null,
        roles,
        state: 'pending',
        invited_by_oid: actor.oid,
        created_at: now,
        expires_at: new Date(now.getTime() + INVITATION_TTL_DAYS * 24 * 3600 * 1000),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // A notice only to an account that would see the invitation, at its confirmed e-mail: never to an
    // address nobody confirmed (the form is not a way to mail strangers).
    const recipient = await noticeRecipient(trx, invitee);
    if (recipient) {
      await enqueueMessage(trx, {
        channel: 'email',
        recipient,
        template: 'organisation_invitation',
        payload: { organisation: membership.organisation.shortName ?? membership.organisation.fullName, role },
      }, now);
    }
    // Who was invited stays out of the trail: the row holds it for as long as it is needed.
    await recordAudit(trx, {
      type: 'organisation.invitation_created',
      citizenOid: actor.oid,
      actor: { type: 'citizen', oid: actor.oid },
      details: { organisationOid, invitationId: String(id), roles, by: invitee.kind },
      requestId: input.requestId,
    });
    return String(id);
  });
  return { result: 'invited', invitationId };
}

function isSelf(actor: Citizen, invitee: Invitee): boolean {
  return invitee.kind === 'snils' ? actor.snils === invitee.value : actor.email === invitee.value;
}

async function hasPendingInvitation(db: DbOrTrx, organisationOid: string, invitee: Invitee, now: Date): Promise<boolean> {
  const row = await db
    .selectFrom('organisation_invitations')
    .select('id')
    .where('organisation_oid', '=', organisationOid)
    .where('state', '=', 'pending')
    .where('expires_at', '>', now)
    .where(invitee.kind === 'snils' ? 'invitee_snils' : 'invitee_email', '=', invitee.value)
    .executeTakeFirst();
  return row !== undefined;
}

async function noticeRecipient(trx: DbOrTrx, invitee: Invitee): Promise<string | undefined> {
  // An e-mail is unique among accounts; an alias's (src/merge) still reaches its person, who sees the invitation in the primary.
  if (invitee.kind === 'email') return (await trx.selectFrom('citizens').select('email').where('email', '=', invitee.value).executeTakeFirst())?.email ?? undefined;
  return (await snilsInvitee(trx, invitee.value))?.email ?? undefined;
}

/**
 * The one account an invitation by SNILS is for: a primary (not linked into another account) whose
 * SNILS a registry verified. Verified accounts may share a SNILS until their owner links them (one
 * person's duplicates), so it is the account a login by that SNILS opens — the confirmed one, then
 * the oldest (`findCitizenByLogin`): one account sees and answers it, never two, and should the
 * accounts be linked the membership follows the survivor. (Refusing to invite would tell the
 * inviter about the invitee's accounts, which the form never does.)
 */
async function snilsInvitee(db: DbOrTrx, snils: string): Promise<Citizen | undefined> {
  const holder = await findCitizenByLogin(db, { kind: 'snils', value: snils });
  return holder && holder.merged_into_oid === null && holder.trust_level !== 'simplified' ? holder : undefined;
}

// ─── What the invitee sees ─────────────────────────────────────────────────────────────────────────

export interface ReceivedInvitation {
  id: string;
  organisation: Pick<OrganisationSummary, 'oid' | 'fullName' | 'shortName' | 'kind'>;
  roles: InvitedRole[];
  expiresAt: Date;
}

/**
 * The rows addressed to this citizen: by SNILS only once a registry check verified it, and only to
 * the one account that SNILS stands for (`snilsInvitee`); by confirmed e-mail — its own, or one of
 * an account linked into it (src/merge), whose invitations it answers now.
 */
async function addressedTo(db: DbOrTrx, citizen: Pick<Citizen, 'oid' | 'snils' | 'email' | 'trust_level'>) {
  const bySnils = citizen.snils !== null && citizen.trust_level !== 'simplified' && (await snilsInvitee(db, citizen.snils))?.oid === citizen.oid;
  const aliases = await db.selectFrom('citizens').select('email').where('merged_into_oid', '=', citizen.oid).where('email', 'is not', null).execute();
  const emails = [citizen.email, ...aliases.map((a) => a.email)].filter((e): e is string => e !== null);
  return (eb: ExpressionBuilder<Database, 'organisation_invitations'>) => {
    const matches = [];
    if (bySnils) matches.push(eb('organisation_invitations.invitee_snils', '=', citizen.snils));
    if (emails.length > 0) matches.push(eb('organisation_invitations.invitee_email', 'in', emails));
    return matches.length > 0 ? eb.or(matches) : eb.val(false);
  };
}

/** Pending invitations the citizen may accept now, newest first. */
export async function listReceivedInvitations(db: DbOrTrx, citizen: Citizen, now: Date): Promise<ReceivedInvitation[]> {
  const rows = await db
    .selectFrom('organisation_invitations')
    .innerJoin('organisations', 'organisations.oid', 'organisation_invitations.organisation_oid')
    .select(['organisation_invitations.id', 'organisation_invitations.roles', 'organisation_invitations.expires_at', 'organisations.oid', 'organisations.full_name', 'organisations.short_name', 'organisations.kind'])
    .where(await addressedTo(db, citizen))
    .where('organisation_invitations.state', '=', 'pending')
    .where('organisation_invitations.expires_at', '>', now)
    .orderBy('organisation_invitations.id', 'desc')
    .execute();
  return rows.map((row) => ({
    id: String(row.id),
    organisation: { oid: String(row.oid), fullName: row.full_name, shortName: row.short_name, kind: row.kind },
    roles: row.roles,
    expiresAt: row.expires_at,
  }));
}

export type AnswerOutcome =
  | { result: 'accepted'; organisationOid: string }
  | { result: 'declined'; organisationOid: string }
  | { result: 'not_found' }
  | { result: 'expired' }
  | { result: 'already_decided'; state: InvitationState };

/**
 * The invitee accepts or declines. Someone else's invitation is `not_found` (as a made-up id is).
 * Accepting creates the membership with the invited roles; a member already there keeps theirs and
 * gains the invited ones.
 */
export async function answerInvitation(
  db: Db,
  input: { citizen: Citizen; invitationId: string; answer: 'accept' | 'decline'; now: Date; requestId?: string | null },
): Promise<AnswerOutcome> {
  const { citizen, now } = input;
  if (!/^\d{1,18}$/.test(input.invitationId)) return { result: 'not_found' };
  return db.transaction().execute(async (trx): Promise<AnswerOutcome> => {
    const invitation = await trx
      .selectFrom('organisation_invitations')
      .select(['id', 'organisation_oid', 'roles', 'state', 'expires_at'])
      .where('id', '=', input.invitationId)
      .where(await addressedTo(trx, citizen))
      .forUpdate()
      .executeTakeFirst();
    if (!invitation) return { result: 'not_found' };
    const organisationOid = String(invitation.organisation_oid);
    const settled = await settleIfOver(trx, invitation, now);
    if (settled) return settled;

    const state = input.answer === 'accept' ? 'accepted' : 'declined';
    const updated = await trx
      .updateTable('organisation_invitations')
      .set({ state, decided_by_oid: citizen.oid, decided_at: now })
      .where('id', '=', input.invitationId)
      .where('state', '=', 'pending')
      .returning('id')
      .executeTakeFirst();
    if (!updated) return { result: 'already_decided', state: invitation.state };
    if (state === 'accepted') await joinWithRoles(trx, organisationOid, citizen.oid, invitation.roles, now);
    await recordAudit(trx, {
      type: `organisation.invitation_${state}`,
      citizenOid: citizen.oid,
      actor: { type: 'citizen', oid: citizen.oid },
      details: { organisationOid, invitationId: input.invitationId, roles: invitation.roles },
      requestId: input.requestId,
    });
    return { result: state, organisationOid };
  });
}

/** Adds the member, or merges the roles into an existing membership (never taking one away). */
async function joinWithRoles(trx: DbOrTrx, organisationOid: string, citizenOid: string, roles: readonly OrgRole[], now: Date): Promise<void> {
  const existing = await trx
    .selectFrom('organisation_members')
    .select('roles')
    .where('organisation_oid', '=', organisationOid)
    .where('citizen_oid', '=', citizenOid)
    .forUpdate()
    .executeTakeFirst();
  if (existing) {
    await trx
      .updateTable('organisation_members')
      .set({ roles: sortRoles([...existing.roles, ...roles]) })
      .where('organisation_oid', '=', organisationOid)
      .where('citizen_oid', '=', citizenOid)
      .execute();
    return;
  }
  await trx.insertInto('organisation_members').values({ organisation_oid: organisationOid, citizen_oid: citizenOid, roles: sortRoles(roles), joined_at: now }).execute();
}

/** A locked invitation that can no longer change: already answered, or past its expiry (marked expired now). */
async function settleIfOver(trx: DbOrTrx, invitation: { id: string; state: InvitationState; expires_at: Date }, now: Date): Promise<AnswerOutcome | undefined> {
  if (invitation.state !== 'pending') return { result: 'already_decided', state: invitation.state };
  if (invitation.expires_at > now) return undefined;
  await trx.updateTable('organisation_invitations').set({ state: 'expired', decided_at: now }).where('id', '=', invitation.id).where('state', '=', 'pending').execute();
  return { result: 'expired' };
}

// ─── What the organisation sees ────────────────────────────────────────────────────────────────────

export interface SentInvitation {
  id: string;
  invitee: Invitee;
  roles: InvitedRole[];
  createdAt: Date;
  expiresAt: Date;
}

/** The organisation's invitations still waiting for an answer. */
export async function listPendingInvitations(db: DbOrTrx, organisationOid: string, now: Date): Promise<SentInvitation[]> {
  const rows = await db
    .selectFrom('organisation_invitations')
    .select(['id', 'invitee_snils', 'invitee_email', 'roles', 'created_at', 'expires_at'])
    .where('organisation_oid', '=', organisationOid)
    .where('state', '=', 'pending')
    .where('expires_at', '>', now)
    .orderBy('id', 'desc')
    .execute();
  return rows.map((row) => ({
    id: String(row.id),
    invitee: row.invitee_snils ? { kind: 'snils', value: row.invitee_snils } : { kind: 'email', value: row.invitee_email! },
    roles: row.roles,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }));
}

export type CancelOutcome = { result: 'cancelled' } | { result: 'forbidden' } | { result: 'not_found' } | { result: 'expired' } | { result: 'already_decided'; state: InvitationState };

/** The chief or an admin withdraws a pending invitation of their organisation (one for an admin: the chief only). */
export async function cancelInvitation(
  db: Db,
  input: { actorOid: string; organisationOid: string; invitationId: string; now: Date; requestId?: string | null },
): Promise<CancelOutcome> {
  const { actorOid, organisationOid, now } = input;
  if (!/^\d{1,18}$/.test(input.invitationId)) return { result: 'not_found' };
  return db.transaction().execute(async (trx): Promise<CancelOutcome> => {
    const actor = await findMembership(trx, actorOid, organisationOid);
    if (!actor || !(actor.roles.includes('chief') || actor.roles.includes('admin'))) return { result: 'forbidden' };
    const invitation = await trx
      .selectFrom('organisation_invitations')
      .select(['id', 'state', 'expires_at', 'roles'])
      .where('id', '=', input.invitationId)
      .where('organisation_oid', '=', organisationOid)
      .forUpdate()
      .executeTakeFirst();
    if (!invitation) return { result: 'not_found' };
    if (invitation.roles.includes('admin') && !actor.roles.includes('chief')) return { result: 'forbidden' };
    const settled = await settleIfOver(trx, invitation, now);
    if (settled) return settled as CancelOutcome;
    await trx.updateTable('organisation_invitations').set({ state: 'cancelled', decided_at: now }).where('id', '=', input.invitationId).where('state', '=', 'pending').execute();
    await recordAudit(trx, {
      type: 'organisation.invitation_cancelled',
      citizenOid: actorOid,
      actor: { type: 'citizen', oid: actorOid },
      details: { organisationOid, invitationId: input.invitationId },
      requestId: input.requestId,
    });
    return { result: 'cancelled' };
  });
}

