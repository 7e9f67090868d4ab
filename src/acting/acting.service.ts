import type { Db, DbOrTrx } from '../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { findMembership, listMemberships, type Membership } from '../organisations/memberships.ts';
import { findUsablePower, listUsablePowers, type UsablePower } from '../powers/powers.repository.ts';
import { findChoice, saveChoice, type ChoiceKey, type StoredChoice } from './acting.repository.ts';

/** What the citizen acts as, checked against live data: the membership still exists, the power is still usable. */
export type ActingContext =
  | { kind: 'person' }
  | { kind: 'organisation'; membership: Membership }
  | { kind: 'representative'; power: UsablePower };

export type { StoredChoice } from './acting.repository.ts';

const PERSON: ActingContext = { kind: 'person' };

/** ESIA's organisation scopes: any of them (or `usr_org`) makes the login offer the citizen's organisations. */
export const ORGANISATION_SCOPES = ['org_fullname', 'org_shortname', 'org_type', 'org_ogrn', 'org_inn', 'org_kpp'] as const;
export const MEMBERSHIPS_SCOPE = 'usr_org';

export function asksForOrganisation(scope: unknown): boolean {
  if (typeof scope !== 'string') return false;
  return scope.split(' ').some((s) => s === MEMBERSHIPS_SCOPE || (ORGANISATION_SCOPES as readonly string[]).includes(s));
}

/** Who signed in, at which relying party: the frame every live check runs in. */
export interface ActingFrame {
  citizenOid: string;
  clientId: string;
  now: Date;
}

/**
 * A choice (stored, or read back from a token) checked against live data. Undefined means it no
 * longer holds: the citizen left the organisation, or the power was revoked, expired or limited
 * to other relying parties. Callers turn that into "token inactive", never into a person token.
 */
export async function resolveChoice(db: DbOrTrx, frame: ActingFrame, choice: StoredChoice): Promise<ActingContext | undefined> {
  if (choice.kind === 'organisation') {
    const membership = await findMembership(db, frame.citizenOid, choice.organisationOid);
    return membership && { kind: 'organisation', membership };
  }
  if (choice.kind === 'representative') {
    const power = await findUsablePower(db, choice.powerId, frame.citizenOid, frame.clientId, frame.now);
    return power && { kind: 'representative', power };
  }
  return PERSON;
}

/** The context the citizen chose for this client in this session (none stored: as themselves). */
export async function resolveStoredContext(db: DbOrTrx, frame: ActingFrame, sessionUid: string): Promise<ActingContext | undefined> {
  const key: ChoiceKey = { sessionUid, clientId: frame.clientId };
  const choice = await findChoice(db, key, frame.citizenOid);
  return choice ? resolveChoice(db, frame, choice) : PERSON;
}

/** What the login may offer besides «как частное лицо»: organisations only when the RP asked for them. */
export interface RoleOptions {
  memberships: Membership[];
  powers: UsablePower[];
}

export async function listRoleOptions(db: DbOrTrx, frame: ActingFrame, withOrganisations: boolean): Promise<RoleOptions> {
  const [memberships, powers] = await Promise.all([
    withOrganisations ? listMemberships(db, frame.citizenOid) : Promise.resolve([]),
    listUsablePowers(db, frame.citizenOid, frame.clientId, frame.now),
  ]);
  return { memberships, powers };
}

export function hasAlternatives(options: RoleOptions): boolean {
  return options.memberships.length > 0 || options.powers.length > 0;
}

/** The option a choice names, if it is among those offered; «как частное лицо» always is. */
export function pickOption(options: RoleOptions, choice: StoredChoice): ActingContext | undefined {
  if (choice.kind === 'person') return PERSON;
  if (choice.kind === 'organisation') {
    const membership = options.memberships.find((m) => m.organisation.oid === choice.organisationOid);
    return membership && { kind: 'organisation', membership };
  }
  const power = options.powers.find((p) => p.id === choice.powerId);
  return power && { kind: 'representative', power };
}

export function choiceOf(context: ActingContext): StoredChoice {
  if (context.kind === 'organisation') return { kind: 'organisation', organisationOid: context.membership.organisation.oid };
  if (context.kind === 'representative') return { kind: 'representative', powerId: context.power.id };
  return { kind: 'person' };
}

/** Reads a choice back from its form or interaction-result shape; anything malformed is undefined. */
export function parseChoice(value: unknown): StoredChoice | undefined {
  if (typeof value === 'string') {
    if (value === 'person') return { kind: 'person' };
    const org = /^org:([1-9]\d{0,17})$/.exec(value);
    if (org) return { kind: 'organisation', organisationOid: org[1] };
    const poa = /^poa:([1-9]\d{0,17})$/.exec(value);
    if (poa) return { kind: 'representative', powerId: poa[1] };
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const { kind, organisationOid, powerId } = value as Record<string, unknown>;
  if (kind === 'person') return { kind };
  if (kind === 'organisation' && typeof organisationOid === 'string') return parseChoice(`org:${organisationOid}`);
  if (kind === 'representative' && typeof powerId === 'string') return parseChoice(`poa:${powerId}`);
  return undefined;
}

/** The form value of a choice (radio buttons). */
export function choiceValue(choice: StoredChoice): string {
  if (choice.kind === 'organisation') return `org:${choice.organisationOid}`;
  if (choice.kind === 'representative') return `poa:${choice.powerId}`;
  return 'person';
}

function sameChoice(a: StoredChoice | undefined, b: StoredChoice): boolean {
  return a !== undefined && choiceValue(a) === choiceValue(b);
}

/**
 * Stores what the citizen acts as at this client in this session. Acting for an organisation or a
 * principal is a security event: the audit trail records when it starts (not every re-confirmation
 * of the same choice by a later authorization).
 */
export async function recordChoice(db: Db, key: ChoiceKey, citizenOid: string, choice: StoredChoice, now: Date, requestId?: string | null): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const previous = await findChoice(trx, key, citizenOid);
    if (sameChoice(previous, choice)) return;
    await saveChoice(trx, key, citizenOid, choice, now);
    if (choice.kind === 'person') return;
    await recordAudit(trx, {
      type: choice.kind === 'organisation' ? 'acting.organisation_chosen' : 'acting.representative_chosen',
      citizenOid,
      actor: { type: 'citizen', oid: citizenOid },
      details: { clientId: key.clientId, ...(choice.kind === 'organisation' ? { organisationOid: choice.organisationOid } : { powerId: choice.powerId }) },
      requestId,
    });
  });
}
