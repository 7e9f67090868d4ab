import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import { translator, type Translate } from '../http/i18n.ts';
import type { Views } from '../http/views.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { maskLogin } from '../notifications/templates.ts';
import { SECOND_FACTOR_REASON } from '../oidc/interaction-policy.ts';
import {
  METHOD_AMR, loginFactors, loginWithSecondFactor, pendingCitizen, sendLoginCode, type LoginSecurityDeps, type SecondFactorMethod,
} from '../security/login.service.ts';
import { requestedSecondFactors } from '../security/mfa-request.ts';
import { RATE_LIMITS, consumeRateLimit, ipKey } from '../security/rate-limits.ts';
import { waitText } from '../security/wait-text.ts';
import { bodyField, clientOf, finish, loadInteraction, localeOf, noStore, type Interaction } from './interaction-helpers.ts';
import type { LoginPageExtra } from './interaction.routes.ts';

interface SecondFactorDeps {
  provider: Provider;
  views: Views;
  security: LoginSecurityDeps & { clock: Clock };
  form: Middleware;
  renderLogin(ctx: Context, interaction: Interaction, extra: LoginPageExtra): Promise<void>;
}

const METHODS: readonly SecondFactorMethod[] = ['totp', 'sms', 'recovery'];

/** The login prompt is only about the RP's second-factor requirement, for a signed-in session. */
export function isStepUp(interaction: Interaction): boolean {
  const { reasons } = interaction.prompt;
  return reasons.length > 0 && reasons.every((reason) => reason === SECOND_FACTOR_REASON) && Boolean(interaction.session?.accountId);
}

/**
 * /interaction/:uid/second-factor — the second step of a login: a code from the authenticator app,
 * a code by SMS («Получить код по SMS») or a recovery code. Reached only with a pending login
 * (the password was right in this interaction) or as a step-up of a password-only session.
 */
export function secondFactorRoutes(router: Router, deps: SecondFactorDeps): void {
  const { provider, views, security, form } = deps;
  const { clock } = security;

  router.get('/second-factor', async (ctx) => {
    const interaction = await loadInteraction(provider, ctx, 'login');
    const citizen = await pendingFor(ctx, interaction);
    if (citizen) await renderSecondFactor(ctx, interaction, citizen, {});
  });

  router.post('/second-factor', form, async (ctx) => {
    const interaction = await loadInteraction(provider, ctx, 'login');
    const t = translator(localeOf(interaction));
    const method = bodyField(ctx, 'method') as SecondFactorMethod;
    if (!METHODS.includes(method)) throw new AppError('error.bad_request', 400, 'unknown second-factor method');
    const code = bodyField(ctx, 'code').trim();
    const citizen = await pendingFor(ctx, interaction);
    if (!citizen) return;
    if (!code) {
      await renderSecondFactor(ctx, interaction, citizen, { status: 400, errors: { [method]: t('security.code.required') }, smsSent: method === 'sms' });
      return;
    }
    const allowed = await allowedMethods(interaction, citizen);
    // Not offered on the page (the RP does not accept it, or the citizen does not have it): a forged form.
    if (!allowed.includes(method)) throw new AppError('error.bad_request', 400, 'this second-factor method is not offered here');
    const outcome = await loginWithSecondFactor(security, {
      now: clock.now(), ip: ctx.ip, userAgent: ctx.get('user-agent'), client: await clientOf(provider, interaction), interactionUid: interaction.uid,
      requestId: ctx.state.requestId, method, code, allowed,
    });
    if (outcome.outcome === 'signed_in') {
      await finish(ctx, provider, { login: { accountId: outcome.citizen.oid, amr: outcome.amr, acr: outcome.citizen.trust_level } }, false);
      return;
    }
    if (outcome.outcome === 'restart') {
      ctx.status = 401;
      await deps.renderLogin(ctx, interaction, { login: '', formError: t(`security.second_factor.restart_${outcome.reason}`) });
      return;
    }
    const check = outcome.codeCheck;
    const text = check?.result === 'wrong' ? t('security.code.wrong_code_attempts', { attempts: String(check.attemptsLeft) }) : t(`security.code.${outcome.reason}`);
    await renderSecondFactor(ctx, interaction, citizen, { status: 401, errors: { [method]: text }, smsSent: method === 'sms' });
  });

  router.post('/second-factor/sms', form, async (ctx) => {
    const interaction = await loadInteraction(provider, ctx, 'login');
    const t = translator(localeOf(interaction));
    const citizen = await pendingFor(ctx, interaction);
    if (!citizen) return;
    const now = clock.now();
    const byIp = await consumeRateLimit(security.db, ipKey('code_send', ctx.ip), RATE_LIMITS.code_send, now);
    if (!byIp.allowed) return renderTooSoon(ctx, interaction, citizen, t, byIp.retryAfterSeconds);
    try {
      const sent = await sendLoginCode(security, { interactionUid: interaction.uid, now });
      if (sent.outcome === 'restart') return backToLogin(ctx, interaction);
      if (sent.outcome === 'unavailable') throw new AppError('error.bad_request', 400, 'SMS is not a second factor of this account');
      await renderSecondFactor(ctx, interaction, citizen, { smsSent: true, notice: t('security.second_factor.sms_sent', { phone: maskLogin(sent.phone) }) });
    } catch (error) {
      const wait = error instanceof AppError && error.status === 429 ? error.details?.retryAfterSeconds : undefined;
      if (typeof wait !== 'number') throw error;
      await renderTooSoon(ctx, interaction, citizen, t, wait);
    }
  });

  // «Вернуться» from the page explaining that the RP needs a second factor the citizen has not set up.
  router.post('/second-factor/abort', form, async (ctx) => {
    await loadInteraction(provider, ctx, 'login');
    await finish(ctx, provider, { error: 'access_denied', error_description: 'the client requires a second authentication factor, and none is set up for this account' }, false);
  });

  /** The citizen of this interaction's pending login; otherwise the response is already set (login page, or 429). */
  async function pendingFor(ctx: Context, interaction: Interaction): Promise<Citizen | undefined> {
    const pending = await pendingCitizen(security, { interactionUid: interaction.uid, now: clock.now(), stepUpAccountId: isStepUp(interaction) ? interaction.session?.accountId : undefined });
    if (pending && 'citizen' in pending) return pending.citizen;
    if (!pending) {
      await backToLogin(ctx, interaction);
      return undefined;
    }
    const t = translator(localeOf(interaction));
    ctx.status = 429;
    ctx.set('Retry-After', String(pending.retryAfterSeconds));
    noStore(ctx);
    ctx.type = 'html';
    ctx.body = views.render('message.njk', localeOf(interaction), {
      heading: t('security.second_factor.title'),
      message: t('security.login.too_many', { wait: waitText(t, pending.retryAfterSeconds) }),
    });
    return undefined;
  }

  /** The citizen's usable methods, narrowed to what the RP accepts when it named factors. */
  async function allowedMethods(interaction: Interaction, citizen: Citizen): Promise<SecondFactorMethod[]> {
    const { methods } = await loginFactors(security.db, citizen);
    const accepted = requestedSecondFactors(interaction.params.claims);
    return accepted ? methods.filter((method) => accepted.has(METHOD_AMR[method])) : methods;
  }

  async function renderTooSoon(ctx: Context, interaction: Interaction, citizen: Citizen, t: Translate, seconds: number) {
    ctx.set('Retry-After', String(seconds));
    await renderSecondFactor(ctx, interaction, citizen, { status: 429, errors: { sms: t('security.code.send_wait', { wait: waitText(t, seconds) }) } });
  }

  async function renderSecondFactor(
    ctx: Context,
    interaction: Interaction,
    citizen: Citizen,
    page: { status?: number; errors?: Partial<Record<SecondFactorMethod, string>>; smsSent?: boolean; notice?: string },
  ) {
    const locale = localeOf(interaction);
    const client = await clientOf(provider, interaction);
    const factors = await loginFactors(security.db, citizen);
    const methods = await allowedMethods(interaction, citizen);
    noStore(ctx);
    ctx.status = page.status ?? 200;
    ctx.type = 'html';
    if (!methods.length) {
      // Nothing to confirm with: the RP requires a factor the citizen has not set up (or cannot use now).
      ctx.body = views.render('second-factor-missing.njk', locale, { uid: interaction.uid, clientName: client.name, enrolled: factors.enrolled });
      return;
    }
    ctx.body = views.render('second-factor.njk', locale, {
      uid: interaction.uid,
      clientName: client.name,
      methods,
      phone: factors.phone ? maskLogin(factors.phone) : undefined,
      smsSent: page.smsSent ?? false,
      notice: page.notice,
      errors: page.errors ?? {},
    });
  }

  async function backToLogin(ctx: Context, interaction: Interaction) {
    ctx.status = 303;
    ctx.redirect(`/interaction/${interaction.uid}`);
  }
}
