import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import Provider, { errors, type InteractionResults } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { authenticateCitizen } from '../citizens/citizens.service.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { AppError } from '../shared/app-error.ts';
import { pickLocale, translator } from '../http/i18n.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-session.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import type { TrustLevel } from '../citizens/citizen.table.ts';
import { TRUST_LEVEL_PROMPT } from '../oidc/interaction-policy.ts';
import { insufficientLevelDescription } from '../trust/acr.ts';
import { stepsToNextLevel } from '../trust/trust-levels.ts';
import { loadTrustProgress } from '../trust/trust-progress.ts';
import type { Views } from '../http/views.ts';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface InteractionDeps {
  provider: Provider;
  db: Db;
  hasher: PasswordHasher;
  views: Views;
}

/**
 * Our pages inside an OIDC authorization: login and consent. oidc-provider keeps the interaction
 * state (bound to the `_interaction` cookie); these routes only show pages and report results.
 * What the RP must learn (the citizen said no) is finished as an OAuth error, not thrown.
 */
export function interactionRoutes({ provider, db, hasher, views }: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

  router.get('/', async (ctx) => {
    const interaction = await loadInteraction(provider, ctx);
    noStore(ctx);
    if (interaction.prompt.name === 'login') {
      await renderLogin(ctx, interaction, { login: typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : '' });
      return;
    }
    if (interaction.prompt.name === TRUST_LEVEL_PROMPT) {
      await handleTrustLevel(ctx, interaction);
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
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const login = typeof body.login === 'string' ? body.login.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const t = translator(localeOf(interaction));
    if (!login || !password) {
      ctx.status = 400;
      await renderLogin(ctx, interaction, {
        login,
        errors: { login: login ? undefined : t('login.login_required'), password: password ? undefined : t('login.password_required') },
      });
      return;
    }
    const citizen = await authenticateCitizen(db, hasher, login, password);
    if (!citizen) {
      ctx.status = 401;
      await renderLogin(ctx, interaction, { login, formError: t('login.invalid_credentials') });
      return;
    }
    await finish(ctx, provider, { login: { accountId: citizen.oid, amr: ['pwd'], acr: citizen.trust_level } }, false);
  });

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
    ctx.body = views.render('consent.njk', localeOf(interaction), { uid: interaction.uid, clientName: client?.clientName ?? interaction.params.client_id, scopes: requestedScopes(interaction), formError });
  }

  async function renderLogin(ctx: Context, interaction: Interaction, extra: { login: string; formError?: string; errors?: Record<string, string | undefined> }) {
    const client = await provider.Client.find(String(interaction.params.client_id));
    ctx.type = 'html';
    ctx.body = views.render('login.njk', localeOf(interaction), { uid: interaction.uid, clientName: client?.clientName ?? interaction.params.client_id, errors: {}, ...extra });
  }

  return router;
}

/** The interaction bound to this browser's cookie, checked against the URL and the expected prompt. */
async function loadInteraction(provider: Provider, ctx: Context, expectedPrompt?: string): Promise<Interaction> {
  let interaction: Interaction;
  try {
    interaction = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    if (error instanceof errors.SessionNotFound || error instanceof errors.InvalidRequest) throw new AppError('error.session_expired', 400);
    throw error;
  }
  if (interaction.uid !== ctx.params.uid) throw new AppError('error.session_expired', 400);
  if (expectedPrompt && interaction.prompt.name !== expectedPrompt) throw new AppError('error.bad_request', 400, 'this step is already done');
  return interaction;
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

async function finish(ctx: Context, provider: Provider, result: InteractionResults, merge: boolean): Promise<void> {
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(redirectTo);
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

function localeOf(interaction: Interaction) {
  return pickLocale(interaction.params.ui_locales);
}

function noStore(ctx: Context) {
  ctx.set('Cache-Control', 'no-store');
}
