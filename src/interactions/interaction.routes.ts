import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { authenticateCitizen } from '../citizens/citizens.service.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { AppError } from '../shared/app-error.ts';
import { translator } from '../http/i18n.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-session.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import type { TrustLevel } from '../citizens/citizen.table.ts';
import { TRUST_LEVEL_PROMPT } from '../oidc/interaction-policy.ts';
import { insufficientLevelDescription } from '../trust/acr.ts';
import { stepsToNextLevel } from '../trust/trust-levels.ts';
import { loadTrustProgress } from '../trust/trust-progress.ts';
import type { Views } from '../http/views.ts';
import type { CodeHasher } from '../codes/codes.service.ts';
import type { Clock } from '../shared/clock.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { loginWithPassword, type LoginSecurityDeps } from '../security/login.service.ts';
import { requestedSecondFactors } from '../security/mfa-request.ts';
import { bodyField, clientOf, finish, loadInteraction, localeOf, noStore, type Interaction } from './interaction-helpers.ts';
import { isStepUp, secondFactorRoutes } from './second-factor.routes.ts';
import { waitText } from '../security/wait-text.ts';
import { ROLE_PROMPT } from '../acting/role-prompt.ts';
import { actingNotice, roleChoiceRoutes } from '../acting/role-choice.routes.ts';

export interface InteractionDeps {
  provider: Provider;
  db: Db;
  hasher: PasswordHasher;
  views: Views;
  /**
   * Second factor and brute-force limits (src/security). Always passed by createIdpApp; without it
   * the login is the bare password check (kept only so app.ts can be wired separately).
   */
  security: { clock: Clock; codeHasher: CodeHasher; secretBox: SecretBox; ipRateLimitMultiplier?: number };
}

/**
 * Our pages inside an OIDC authorization: login (password, then the second factor when the account
 * has one or the RP requires one) and consent. oidc-provider keeps the interaction state (bound to
 * the `_interaction` cookie); these routes only show pages and report results.
 * What the RP must learn (the citizen said no) is finished as an OAuth error, not thrown.
 */
export function interactionRoutes({ provider, db, hasher, views, security }: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const securityDeps: (LoginSecurityDeps & { clock: Clock }) | undefined = security && { db, hasher, ...security };

  router.get('/', async (ctx) => {
    const interaction = await loadInteraction(provider, ctx);
    noStore(ctx);
    if (interaction.prompt.name === 'login' && securityDeps && isStepUp(interaction)) {
      // Signed in with the password alone, and the RP requires a second factor: ask only for that.
      ctx.status = 303;
      ctx.redirect(`/interaction/${interaction.uid}/second-factor`);
      return;
    }
    if (interaction.prompt.name === 'login') {
      await renderLogin(ctx, interaction, { login: typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : '' });
      return;
    }
    if (interaction.prompt.name === TRUST_LEVEL_PROMPT) {
      await handleTrustLevel(ctx, interaction);
      return;
    }
    if (interaction.prompt.name === ROLE_PROMPT) {
      // As a private person, an employee or a representative: src/acting/role-choice.routes.ts.
      ctx.status = 303;
      ctx.redirect(`/interaction/${interaction.uid}/role`);
      return;
    }
    if (interaction.prompt.name === 'consent' && interaction.params.client_id === ACCOUNT_CLIENT_ID) {
      // The citizen's own account console is first-party: nothing to consent to.
      await finish(ctx, provider, { consent: await grantRequested(provider, interaction) }, true);
      return;
    }
    if (interaction.prompt.name === 'consent') {
      await renderConsent(ctx, interaction);
      return;
    }
    throw new AppError('error.bad_request', 400, `unknown prompt ${interaction.prompt.name}`);
  });

  router.post('/login', form, async (ctx) => {
    const interaction = await loadInteraction(provider, ctx, 'login');
    const login = bodyField(ctx, 'login').trim();
    const password = bodyField(ctx, 'password');
    const t = translator(localeOf(interaction));
    if (!login || !password) {
      ctx.status = 400;
      await renderLogin(ctx, interaction, {
        login,
        errors: { login: login ? undefined : t('login.login_required'), password: password ? undefined : t('login.password_required') },
      });
      return;
    }
    if (!securityDeps) {
      const citizen = await authenticateCitizen(db, hasher, login, password);
      if (!citizen) {
        ctx.status = 401;
        await renderLogin(ctx, interaction, { login, formError: t('login.invalid_credentials') });
        return;
      }
      await finish(ctx, provider, { login: { accountId: citizen.oid, amr: ['pwd'], acr: citizen.trust_level } }, false);
      return;
    }

    const outcome = await loginWithPassword(securityDeps, {
      now: securityDeps.clock.now(), ip: ctx.ip, userAgent: ctx.get('user-agent'), client: await clientOf(provider, interaction),
      interactionUid: interaction.uid, requestId: ctx.state.requestId, login, password,
      secondFactorRequired: requestedSecondFactors(interaction.params.claims) !== undefined,
    });
    switch (outcome.outcome) {
      case 'ip_limited':
      case 'throttled': {
        // The same page and status whether or not an account has this login.
        const locked = outcome.outcome === 'throttled' && outcome.locked;
        ctx.status = 429;
        ctx.set('Retry-After', String(outcome.retryAfterSeconds));
        await renderLogin(ctx, interaction, { login, formError: t(locked ? 'security.login.locked' : 'security.login.too_many', { wait: waitText(t, outcome.retryAfterSeconds) }) });
        return;
      }
      case 'invalid':
        ctx.status = 401;
        await renderLogin(ctx, interaction, {
          login,
          formError: t('login.invalid_credentials'),
          formNote: outcome.waitSeconds > 0 ? t('security.login.next_try', { wait: waitText(t, outcome.waitSeconds) }) : undefined,
        });
        return;
      case 'second_factor':
        ctx.status = 303;
        ctx.redirect(`/interaction/${interaction.uid}/second-factor`);
        return;
      case 'signed_in':
        await finish(ctx, provider, { login: { accountId: outcome.citizen.oid, amr: outcome.amr, acr: outcome.citizen.trust_level } }, false);
    }
  });

  if (securityDeps) secondFactorRoutes(router, { provider, views, security: securityDeps, form, renderLogin });
  roleChoiceRoutes(router, { provider, db, clock: security.clock, views, form });

  router.post('/confirm', form, async (ctx) => {
    const interaction = await loadInteraction(provider, ctx, 'consent');
    // The citizen must tick «Согласен»: the page disables the button until then, and this checks it again.
    if ((ctx.request.body as Record<string, unknown> | undefined)?.agree !== 'yes') {
      ctx.status = 400;
      await renderConsent(ctx, interaction, translator(localeOf(interaction))('consent.agree_required'));
      return;
    }
    await finish(ctx, provider, { consent: await grantRequested(provider, interaction) }, true);
  });

  router.post('/abort', form, async (ctx) => {
    const interaction = await loadInteraction(provider, ctx);
    await finish(ctx, provider, { error: 'access_denied', error_description: abortDescription(interaction) }, false);
  });

  /**
   * The account is below the RP's minimum: explain, with the steps to rise; "Вернуться" tells the RP
   * access_denied. When only the session's acr is stale (the level changed since sign-in), the
   * session is refreshed with the current level without asking anything.
   */
  async function handleTrustLevel(ctx: Context, interaction: Interaction) {
    const reasons = interaction.prompt.reasons;
    const { required, actual } = interaction.prompt.details as { required?: TrustLevel; actual?: TrustLevel };
    const accountId = interaction.session?.accountId;
    if (!reasons.includes('level_insufficient') && accountId && actual) {
      const session = interaction.session?.uid ? await provider.Session.findByUid(interaction.session.uid) : undefined;
      await finish(ctx, provider, { login: { accountId, acr: actual, amr: session?.amr, ts: session?.loginTs, remember: true } }, true);
      return;
    }
    const citizen = accountId ? await findCitizenByOid(db, accountId) : undefined;
    if (!citizen || !required) throw new AppError('error.session_expired', 400);
    const client = await provider.Client.find(String(interaction.params.client_id));
    ctx.type = 'html';
    ctx.body = views.render('trust-level.njk', localeOf(interaction), {
      uid: interaction.uid,
      clientName: client?.clientName ?? interaction.params.client_id,
      required,
      actual: citizen.trust_level,
      steps: stepsToNextLevel(await loadTrustProgress(db, citizen)),
    });
  }

  async function renderConsent(ctx: Context, interaction: Interaction, formError?: string) {
    const client = await provider.Client.find(String(interaction.params.client_id));
    ctx.type = 'html';
    const locale = localeOf(interaction);
    const acting = await actingNotice(db, security.clock, interaction, translator(locale));
    ctx.body = views.render('consent.njk', locale, { uid: interaction.uid, clientName: client?.clientName ?? interaction.params.client_id, scopes: requestedScopes(interaction), acting, formError });
  }

  async function renderLogin(ctx: Context, interaction: Interaction, extra: LoginPageExtra) {
    const client = await clientOf(provider, interaction);
    noStore(ctx);
    ctx.type = 'html';
    ctx.body = views.render('login.njk', localeOf(interaction), { uid: interaction.uid, clientName: client.name, errors: {}, ...extra });
  }

  return router;
}

/** Grants what the authorization asks for (scopes, claims, resources); returns the consent result. */
async function grantRequested(provider: Provider, interaction: Interaction): Promise<{ grantId?: string }> {
  const accountId = interaction.session?.accountId;
  if (!accountId) throw new AppError('error.session_expired', 400);
  const grant = interaction.grantId
    ? (await provider.Grant.find(interaction.grantId))!
    : new provider.Grant({ accountId, clientId: String(interaction.params.client_id) });
  const details = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return interaction.grantId ? {} : { grantId };
}

/** What the RP is told when the citizen goes back instead of finishing. */
function abortDescription(interaction: Interaction): string {
  if (interaction.prompt.name === TRUST_LEVEL_PROMPT) {
    const { required } = interaction.prompt.details as { required?: TrustLevel };
    if (required) return insufficientLevelDescription(required);
  }
  return interaction.prompt.name === 'consent' ? 'End-User denied the authorization request' : 'End-User aborted interaction';
}

function requestedScopes(interaction: Interaction): string[] {
  const details = interaction.prompt.details as { missingOIDCScope?: string[] };
  const scopes = details.missingOIDCScope ?? String(interaction.params.scope ?? '').split(' ').filter(Boolean);
  // The account identifier first, then the data in the order the RP asked for it.
  return scopes.includes('openid') ? ['openid', ...scopes.filter((s) => s !== 'openid')] : scopes;
}

export interface LoginPageExtra {
  login: string;
  formError?: string;
  /** A second line under the error (e.g. when the next try is possible). */
  formNote?: string;
  errors?: Record<string, string | undefined>;
}
