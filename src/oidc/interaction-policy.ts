import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { findCitizenInRequest } from '../citizens/citizens.repository.ts';
import type { TrustLevel } from '../citizens/citizen.table.ts';
import { requiredTrustLevel } from '../trust/acr.ts';
import { trustRank } from '../trust/trust-levels.ts';
import { hasSecondFactor, requestedSecondFactors } from '../security/mfa-request.ts';
import type { Clock } from '../shared/clock.ts';
import { createRolePrompt } from '../acting/role-prompt.ts';

const { Prompt, Check, base } = interactionPolicy;

export const TRUST_LEVEL_PROMPT = 'trust_level';
/** The login prompt's reason when the RP requires a second factor the session does not have. */
export const SECOND_FACTOR_REASON = 'second_factor_required';

/** The minimum level this authorization request asks for. */
export function requestedMinimum(ctx: KoaContextWithOIDC): TrustLevel | undefined {
  const params = ctx.oidc.params as Record<string, unknown>;
  return requiredTrustLevel({ acrValues: params.acr_values, claims: ctx.oidc.claims, personFilter: params.person_filter });
}

/**
 * oidc-provider's default prompts (login, consent) with the trust-level step between them.
 * The login prompt's own ACR checks are removed: an ACR here is a trust level, a property of the
 * account rather than of how the citizen signed in, so signing in again cannot raise it; the
 * trust_level prompt explains instead what the citizen can do.
 */
export function createInteractionPolicy(db: Db, clock: Clock) {
  const policy = base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  // An RP may require a second factor (an essential `amr` in the claims parameter, see
  // security/mfa-request.ts). A session signed in with the password alone is then stepped up:
  // the login prompt asks for the second factor only. With prompt=none the RP gets login_required.
  login.checks.add(
    new Check(SECOND_FACTOR_REASON, 'the client requires a second authentication factor', 'login_required', async (ctx: KoaContextWithOIDC) => {
      const accepted = requestedSecondFactors(ctx.oidc.claims);
      if (!accepted || !ctx.oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
      return hasSecondFactor((ctx.oidc.session as { amr?: unknown }).amr, accepted) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );

  // Asked by the prompt's details and both its checks in one authorization request: read once.
  const levels = new WeakMap<object, Promise<TrustLevel | undefined>>();
  const currentLevel = (ctx: KoaContextWithOIDC): Promise<TrustLevel | undefined> => {
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return Promise.resolve(undefined);
    let level = levels.get(ctx);
    if (!level) {
      // The same read as oidc-provider's account lookup earlier in this request (oidc/account.ts).
      level = findCitizenInRequest(db, ctx, accountId).then((citizen) => citizen?.trust_level);
      levels.set(ctx, level);
    }
    return level;
  };

  const trustLevel = new Prompt(
    { name: TRUST_LEVEL_PROMPT, requestable: false },
    async (ctx: KoaContextWithOIDC) => ({ required: requestedMinimum(ctx), actual: await currentLevel(ctx) }),
    new Check('level_insufficient', 'the account trust level is below the minimum the client requires', 'access_denied', async (ctx: KoaContextWithOIDC) => {
      const required = requestedMinimum(ctx);
      const actual = await currentLevel(ctx);
      return required !== undefined && actual !== undefined && trustRank(actual) < trustRank(required) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
    // The level rose (or fell) since the citizen signed in: refresh the session's acr silently.
    new Check('acr_stale', 'the session acr no longer matches the account trust level', async (ctx: KoaContextWithOIDC) => {
      if (ctx.oidc.prompts.has('none')) return Check.NO_NEED_TO_PROMPT;
      const actual = await currentLevel(ctx);
      return actual !== undefined && ctx.oidc.session?.acr !== actual ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  policy.add(trustLevel, 1);
  // The role choice (src/acting): as a private person, an employee or a representative — after
  // login and the level check, before consent (the consent page then names what the RP gets).
  policy.add(createRolePrompt(db, clock), policy.findIndex((prompt) => prompt.name === 'consent'));
  return policy;
}
