import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-session.ts';
import { findMembership } from '../organisations/memberships.ts';
import { clearChoice, findChoice, type ChoiceKey } from './acting.repository.ts';
import { asksForOrganisation, hasAlternatives, listRoleOptions, parseChoice, pickOption, recordChoice, resolveChoice, type ActingFrame } from './acting.service.ts';

const { Prompt, Check } = interactionPolicy;

/**
 * The role choice is OpenID Connect's `select_account` prompt: an RP may force it with
 * `prompt=select_account`, and with `prompt=none` a choice that cannot be made silently answers
 * `account_selection_required`. Its interaction result is `{ select_account: <choice> }`.
 */
export const ROLE_PROMPT = 'select_account';
/** The request names an organisation (org_oid) the citizen does not belong to. */
export const NOT_A_MEMBER = 'organisation_not_member';
export const NOT_A_MEMBER_DESCRIPTION = 'ESIA-007194: the user is not an employee of the organisation the client asked for';
/** The citizen has something to choose from besides «как частное лицо». */
export const ROLE_CHOICE = 'role_choice';

type Decision = 'settled' | 'ask' | 'not_member';

/**
 * The prompt between login and consent. Its check is the one place every authorization passes
 * before a code is issued, so it also *settles* the acting context whenever no question is
 * needed, and stores it for the token endpoint (keyed by session and client):
 * - the citizen chose on the role page in this authorization → that choice, re-checked live;
 * - the RP named an organisation (`org_oid`) → it, without asking, when the citizen is a member;
 *   otherwise `access_denied` / ESIA-007194;
 * - nothing to choose (no organisation asked for or none held, no usable power here) → the person;
 *   an earlier authorization's choice for this client in this session is forgotten;
 * - prompt=none → the choice stored earlier in this session, when it is still one of the options.
 * Otherwise the citizen is asked.
 */
export function createRolePrompt(db: Db, clock: Clock) {
  const decisions = new WeakMap<object, Promise<Decision>>();
  const decide = (ctx: KoaContextWithOIDC): Promise<Decision> => {
    let decision = decisions.get(ctx);
    if (!decision) {
      decision = settle(db, clock, ctx);
      decisions.set(ctx, decision);
    }
    return decision;
  };
  return new Prompt(
    { name: ROLE_PROMPT, requestable: true },
    new Check(NOT_A_MEMBER, NOT_A_MEMBER_DESCRIPTION, 'access_denied', async (ctx: KoaContextWithOIDC) =>
      (await decide(ctx)) === 'not_member' ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT),
    new Check(ROLE_CHOICE, 'the end-user may act for an organisation or a principal here and has to choose', async (ctx: KoaContextWithOIDC) =>
      (await decide(ctx)) === 'ask' ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT),
  );
}

async function settle(db: Db, clock: Clock, ctx: KoaContextWithOIDC): Promise<Decision> {
  const citizenOid = ctx.oidc.session?.accountId;
  const sessionUid = ctx.oidc.session?.uid;
  const clientId = ctx.oidc.client?.clientId;
  // Before login the login prompt asks first; the account console is the citizen's own.
  if (!citizenOid || !sessionUid || !clientId || clientId === ACCOUNT_CLIENT_ID) return 'settled';
  const key: ChoiceKey = { sessionUid, clientId };
  const frame: ActingFrame = { citizenOid, clientId, now: clock.now() };
  const params = ctx.oidc.params as Record<string, unknown>;
  const requestId = (ctx.state as { requestId?: string }).requestId;

  const chosen = parseChoice((ctx.oidc.result as Record<string, unknown> | undefined)?.[ROLE_PROMPT]);
  if (chosen) {
    // Chosen on the role page a moment ago; checked again in case it lapsed since the POST.
    if (!(await resolveChoice(db, frame, chosen))) return 'ask';
    await recordChoice(db, key, citizenOid, chosen, frame.now, requestId);
    return 'settled';
  }

  if (typeof params.org_oid === 'string') {
    const membership = await findMembership(db, citizenOid, params.org_oid);
    if (!membership) return 'not_member';
    await recordChoice(db, key, citizenOid, { kind: 'organisation', organisationOid: membership.organisation.oid }, frame.now, requestId);
    return 'settled';
  }

  const options = await listRoleOptions(db, frame, asksForOrganisation(params.scope));
  if (!hasAlternatives(options)) {
    await clearChoice(db, key);
    return 'settled';
  }
  if (ctx.oidc.prompts.has('none')) {
    const stored = await findChoice(db, key, citizenOid);
    return stored && pickOption(options, stored) ? 'settled' : 'ask';
  }
  return 'ask';
}
