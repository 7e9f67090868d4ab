import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { requireCitizen } from '../account/account-session.ts';
import { localUrl, localeOf } from '../account/account-pages.ts';
import { translator, type Locale } from '../http/i18n.ts';
import { describeDevice } from './devices.ts';
import { listLoginAttempts } from './login-history.ts';
import {
  confirmTotpEnrolment, disableSecondFactor, enableSmsFactor, regenerateRecoveryCodes, securityStatus, startTotpEnrolment, type SecurityDeps,
} from './second-factor.service.ts';
import { groupedSecret, totpProvisioning } from './totp.ts';
import { waitText } from './wait-text.ts';

const PAGE = '/account/security';
/** Notices shown after a redirect (`?done=`); anything else in the query is ignored. */
const NOTICES = ['totp_enabled', 'sms_enabled', 'disabled', 'not_enabled'] as const;

/**
 * «Безопасность» in the citizen's account: the overview with the second factor (authenticator app,
 * SMS) and recovery codes, and «История входов». The other tabs of the section (sessions, password,
 * notifications) are sessions/security.routes.ts. Forms are CSRF-checked by the page stack in app.ts.
 */
export function accountSecurityRoutes(deps: PageDeps): Router {
  const { db, views, clock } = deps;
  const security: SecurityDeps = { db, hasher: deps.hasher, codeHasher: deps.codeHasher, secretBox: deps.secretBox };
  const router = new Router({ prefix: PAGE });
  router.use(requireCitizen(deps.provider, db));

  router.get('/', (ctx) => renderOverview(ctx, {}));

  router.get('/totp', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const started = await startTotpEnrolment(security, citizen, clock.now());
    if ('alreadyEnabled' in started) return redirectWithNotice(ctx, PAGE, 'totp_enabled');
    await renderTotp(ctx, started.secret, {});
  });

  router.post('/totp', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const t = translator(localeOf(ctx));
    const code = field(ctx, 'code').trim();
    const result = code ? await confirmTotpEnrolment(security, citizen, { code, now: clock.now(), requestId: ctx.state.requestId }) : { result: 'empty' as const };
    if (result.result === 'enabled') return result.recoveryCodes ? renderRecoveryCodes(ctx, result.recoveryCodes, 'totp_enabled') : redirectWithNotice(ctx, PAGE, 'totp_enabled');
    if (result.result === 'already_enabled') return redirectWithNotice(ctx, PAGE, 'totp_enabled');
    if (result.result === 'no_enrolment') return redirectTo(ctx, `${PAGE}/totp`);
    const started = await startTotpEnrolment(security, citizen, clock.now());
    if ('alreadyEnabled' in started) return redirectWithNotice(ctx, PAGE, 'totp_enabled');
    await renderTotp(ctx, started.secret, { status: 400, error: t(result.result === 'empty' ? 'security.code.required' : 'security.totp.wrong_code') });
  });

  router.post('/sms', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const result = await enableSmsFactor(security, citizen, { password: field(ctx, 'password'), now: clock.now(), requestId: ctx.state.requestId });
    if (result.result === 'enabled') return result.recoveryCodes ? renderRecoveryCodes(ctx, result.recoveryCodes, 'sms_enabled') : redirectWithNotice(ctx, PAGE, 'sms_enabled');
    if (result.result === 'no_phone') return renderOverview(ctx, { status: 400, errors: { sms: translator(localeOf(ctx))('security.sms.no_phone') } });
    await passwordRefused(ctx, 'sms', result);
  });

  router.post('/disable', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const result = await disableSecondFactor(security, citizen, { password: field(ctx, 'password'), now: clock.now(), requestId: ctx.state.requestId });
    if (result.result === 'wrong_password' || result.result === 'throttled') return passwordRefused(ctx, 'disable', result);
    redirectWithNotice(ctx, PAGE, result.result);
  });

  router.post('/recovery-codes', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const result = await regenerateRecoveryCodes(security, citizen, { password: field(ctx, 'password'), now: clock.now(), requestId: ctx.state.requestId });
    if (result.result === 'regenerated') return renderRecoveryCodes(ctx, result.recoveryCodes, 'regenerated');
    if (result.result === 'not_enabled') return redirectWithNotice(ctx, PAGE, 'not_enabled');
    await passwordRefused(ctx, 'recovery', result);
  });

  router.get('/history', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const locale = localeOf(ctx);
    const t = translator(locale);
    const page = pageNumber(ctx.query.page);
    const { attempts, hasMore } = await listLoginAttempts(db, citizen.oid, page);
    render(ctx, 'security-history.njk', {
      tab: 'history',
      attempts: attempts.map((a) => {
        const device = describeDevice(a.user_agent, a.ip);
        return {
          at: formatDateTime(a.created_at, locale),
          method: t(`security.method.${a.method}`),
          client: a.client_name ?? a.client_id ?? '',
          ip: a.ip,
          device: `${device.browser}, ${device.os === 'unknown' ? t('security.history.unknown_os') : device.os}`,
          succeeded: a.succeeded,
          outcome: a.succeeded ? t('security.history.success') : t(`security.reason.${a.reason ?? 'unknown'}`),
          reason: a.reason ?? 'success',
        };
      }),
      page,
      newerUrl: page > 1 ? localUrl(locale, `${PAGE}/history`, page > 2 ? { page: String(page - 1) } : {}) : undefined,
      olderUrl: hasMore ? localUrl(locale, `${PAGE}/history`, { page: String(page + 1) }) : undefined,
    });
  });

  async function renderOverview(ctx: Context, page: { status?: number; errors?: Record<string, string> }) {
    const citizen = ctx.state.citizen as Citizen;
    const t = translator(localeOf(ctx));
    const done = typeof ctx.query.done === 'string' && (NOTICES as readonly string[]).includes(ctx.query.done) ? ctx.query.done : undefined;
    render(ctx, 'security-overview.njk', {
      tab: 'overview',
      status: await securityStatus(db, citizen),
      since: (date: Date) => formatDateTime(date, localeOf(ctx)),
      errors: page.errors ?? {},
      notice: done ? t(`security.notice.${done}`) : undefined,
    }, page.status);
  }

  async function renderTotp(ctx: Context, secret: string, page: { status?: number; error?: string }) {
    const citizen = ctx.state.citizen as Citizen;
    const label = citizen.email ?? (citizen.phone ? `+${citizen.phone}` : `OID ${citizen.oid}`);
    const { qrDataUrl } = await totpProvisioning(secret, label);
    render(ctx, 'security-totp.njk', { tab: 'overview', qrDataUrl, secret: groupedSecret(secret), error: page.error }, page.status);
  }

  function renderRecoveryCodes(ctx: Context, codes: string[], reason: 'totp_enabled' | 'sms_enabled' | 'regenerated') {
    render(ctx, 'security-recovery-codes.njk', { tab: 'overview', codes, reason });
  }

  async function passwordRefused(ctx: Context, form: 'sms' | 'disable' | 'recovery', result: { result: 'wrong_password' } | { result: 'throttled'; retryAfterSeconds: number }) {
    const t = translator(localeOf(ctx));
    if (result.result === 'throttled') {
      ctx.set('Retry-After', String(result.retryAfterSeconds));
      return renderOverview(ctx, { status: 429, errors: { [form]: t('security.password.throttled', { wait: waitText(t, result.retryAfterSeconds) }) } });
    }
    await renderOverview(ctx, { status: 400, errors: { [form]: t('profile.error.password.wrong') } });
  }

  function render(ctx: Context, template: string, context: Record<string, unknown>, status = 200) {
    const locale = localeOf(ctx);
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render(template, locale, {
      citizen: ctx.state.citizen as Citizen,
      csrfToken: ctx.state.csrfToken,
      active: 'security',
      url: (path: string) => localUrl(locale, path),
      ...context,
    });
  }

  return router;
}

function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function redirectWithNotice(ctx: Context, path: string, notice: (typeof NOTICES)[number]) {
  redirectTo(ctx, localUrl(localeOf(ctx), path, { done: notice }));
}

function redirectTo(ctx: Context, url: string) {
  ctx.status = 303;
  ctx.redirect(url.startsWith('/') && !url.includes('?') ? localUrl(localeOf(ctx), url) : url);
}

function pageNumber(value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : 1;
  return Math.max(1, n);
}

// Citizens read times in Moscow time, whatever the server's zone.
const FORMATS: Record<Locale, Intl.DateTimeFormat> = {
  ru: new Intl.DateTimeFormat('ru-RU', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Moscow' }),
  en: new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Moscow' }),
};

function formatDateTime(date: Date, locale: Locale): string {
  return FORMATS[locale].format(date);
}
