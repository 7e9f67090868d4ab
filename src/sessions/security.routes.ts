import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { translator, type Locale } from '../http/i18n.ts';
import { problemTexts } from '../registration/problem-text.ts';
import { requireCitizen } from '../account/account-session.ts';
import { localeOf, localUrl, renderAccountPage } from '../account/account-pages.ts';
import { listCitizenSessions, endSessions } from './sessions.service.ts';
import { changePassword, type PasswordChangeProblems } from './password-change.service.ts';
import {
  loadNotificationSettings, NOTIFICATION_CHANNELS, NOTIFICATION_KINDS, saveNotificationSettings, settingsFromForm, type NotificationSettings,
} from './notification-settings.ts';

const BASE = '/account/security';
/** Notices shown after a redirect (`?done=`), with the count some of them carry. */
const NOTICES: Record<string, string> = {
  ended: 'sessions.notice.ended',
  ended_others: 'sessions.notice.ended_others',
  none_ended: 'sessions.notice.none_ended',
  password_changed: 'password_change.notice.changed',
  notifications_saved: 'notifications_settings.notice.saved',
};

/**
 * The account's security pages: active sessions (/account/security/sessions), the password
 * (/account/security/password) and notification channels (/account/security/notifications).
 */
export function securityRoutes(deps: PageDeps): Router {
  const { provider, db, clock, views, hasher, config } = deps;
  const router = new Router({ prefix: BASE });
  router.use(requireCitizen(provider, db));
  const citizenOf = (ctx: Context) => ctx.state.citizen as Citizen;
  const requestId = (ctx: Context) => ctx.state.requestId as string | undefined;
  const currentSessionUid = async (ctx: Context) => (await provider.Session.get(ctx as never)).uid;

  function render(ctx: Context, template: string, tab: string, context: Record<string, unknown> & { status?: number }) {
    const t = translator(localeOf(ctx));
    const done = typeof ctx.query.done === 'string' && Object.hasOwn(NOTICES, ctx.query.done) ? NOTICES[ctx.query.done] : undefined;
    const count = typeof ctx.query.count === 'string' && /^\d{1,4}$/.test(ctx.query.count) ? ctx.query.count : '0';
    renderAccountPage(ctx, views, template, { active: 'security', tab, notice: done ? t(done, { count }) : undefined, ...context });
  }

  function redirectWith(ctx: Context, path: string, done: string, count?: number) {
    ctx.redirect(localUrl(localeOf(ctx), `${BASE}${path}`, { done, ...(count === undefined ? {} : { count: String(count) }) }));
    ctx.status = 303;
  }

  // ─── Active sessions ───

  router.get('/sessions', async (ctx) => {
    const sessions = await listCitizenSessions(provider, db, clock, { oid: citizenOf(ctx).oid, currentUid: await currentSessionUid(ctx) });
    const when = moscowTime(localeOf(ctx));
    render(ctx, 'account-sessions.njk', 'sessions', {
      sessions: sessions.map((s) => ({
        ...s,
        label: [s.device.browser, s.device.os].filter(Boolean).join(', '),
        signedIn: s.signedInAt && when(s.signedInAt),
        lastSeen: s.lastSeenAt && when(s.lastSeenAt),
      })),
      others: sessions.filter((s) => !s.current).length,
      idleMinutes: String(Math.round(config.ttl.sessionIdle / 60)),
      absoluteHours: String(Math.round((config.ttl.session / 3600) * 10) / 10),
    });
  });

  router.post('/sessions/end', async (ctx) => {
    const uid = (ctx.request.body as Record<string, unknown> | undefined)?.session;
    if (typeof uid !== 'string' || uid === '') return ctx.throw(400);
    // The current session is ended with «Выйти» (RP-initiated logout), not from this list.
    if (uid === (await currentSessionUid(ctx))) return ctx.throw(400);
    const ended = await endSessions(provider, db, { oid: citizenOf(ctx).oid, which: { uids: [uid] }, requestId: requestId(ctx) });
    redirectWith(ctx, '/sessions', ended.count > 0 ? 'ended' : 'none_ended');
  });

  router.post('/sessions/end-others', async (ctx) => {
    const current = await currentSessionUid(ctx);
    const ended = await endSessions(provider, db, { oid: citizenOf(ctx).oid, which: { allExcept: current }, requestId: requestId(ctx) });
    redirectWith(ctx, '/sessions', 'ended_others', ended.count);
  });

  // ─── Password ───

  const renderPassword = (ctx: Context, problems: PasswordChangeProblems = {}, status?: number) =>
    render(ctx, 'account-password.njk', 'password', { errors: problemTexts(problems, localeOf(ctx)), status });

  router.get('/password', (ctx) => renderPassword(ctx));

  router.post('/password', async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    const outcome = await changePassword(
      { provider, db, hasher },
      {
        citizen: citizenOf(ctx),
        currentPassword: text('current_password'),
        password: text('password'),
        passwordRepeat: text('password_repeat'),
        currentSessionUid: await currentSessionUid(ctx),
        now: clock.now(),
        requestId: requestId(ctx),
      },
    );
    if (outcome.result === 'invalid') return renderPassword(ctx, outcome.problems, 400);
    redirectWith(ctx, '/password', 'password_changed', outcome.sessionsEnded);
  });

  // ─── Notifications ───

  const renderNotifications = (ctx: Context, settings: NotificationSettings, error?: string, status?: number) => {
    const citizen = citizenOf(ctx);
    render(ctx, 'account-notifications.njk', 'notifications', {
      kinds: NOTIFICATION_KINDS,
      channels: NOTIFICATION_CHANNELS,
      settings,
      available: { email: citizen.email !== null, sms: citizen.phone !== null },
      error: error ? translator(localeOf(ctx))(error) : undefined,
      status,
    });
  };

  router.get('/notifications', async (ctx) => renderNotifications(ctx, await loadNotificationSettings(db, citizenOf(ctx).oid)));

  router.post('/notifications', async (ctx) => {
    const citizen = citizenOf(ctx);
    const settings = settingsFromForm((ctx.request.body ?? {}) as Record<string, unknown>, citizen);
    const outcome = await saveNotificationSettings(db, { oid: citizen.oid, settings, now: clock.now(), requestId: requestId(ctx) });
    if (outcome.result === 'invalid') return renderNotifications(ctx, settings, outcome.error, 400);
    redirectWith(ctx, '/notifications', 'notifications_saved');
  });

  return router;
}

/** Citizens read times in Moscow time, whatever the server's zone. */
function moscowTime(locale: Locale): (date: Date) => string {
  const format = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'ru-RU', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Moscow' });
  return (date) => `${format.format(date)} (${locale === 'en' ? 'Moscow' : 'МСК'})`;
}
