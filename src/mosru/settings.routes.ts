import Router from '@koa/router';
import type { Context } from 'koa';
import { updatePersonalData } from './accounts.repository.ts';
import { disconnectBinding, refreshBinding, REVOKED_AT_IDP } from './binding.service.ts';
import { findBinding, findSyncedProfile } from './bindings.repository.ts';
import { redirectToIdp } from './oidc-flow.ts';
import type { Binding } from './mosru.tables.ts';
import { readPersonalData } from './personal-data.form.ts';
import { calendarDate, formatDateRu, formatSnils } from '../shared/validators.ts';
import { formBody, log, page, requireSession, type MosruDeps } from './web.ts';

export const REVOKED_MESSAGE = 'Доступ к данным Госуслуг отозван. Подключите снова';

/** What a disconnected binding's reason means to the citizen. */
export function disconnectedMessage(binding: Binding): string {
  return binding.disconnected_reason === REVOKED_AT_IDP ? REVOKED_MESSAGE : 'Связь с Госуслугами прервана. Подключите снова';
}

/** The account's own pages: personal data, and the Госуслуги binding (connect, status, disconnect). */
export function settingsRoutes(deps: MosruDeps): Router {
  const { db, clock } = deps;
  const router = new Router();

  router.get('/profile', async (ctx) => {
    const session = requireSession(ctx);
    if (!session) return;
    const a = session.account;
    const values = { lastName: a.last_name, firstName: a.first_name, middleName: a.middle_name ?? '', birthDate: formatDateRu(a.birth_date), snils: a.snils ? formatSnils(a.snils) : '' };
    page(ctx, deps, 'profile.njk', { values, errors: {}, saved: ctx.query.saved === '1' });
  });

  router.post('/profile', async (ctx) => {
    const session = requireSession(ctx);
    if (!session) return;
    const body = formBody(ctx);
    const personal = readPersonalData(body, clock.now());
    if (!personal.ok) {
      page(ctx, deps, 'profile.njk', { values: body, errors: personal.errors }, 400);
      return;
    }
    await updatePersonalData(db, session.account.id, personal.value);
    ctx.status = 303;
    ctx.redirect('/profile?saved=1');
  });

  router.get('/settings', async (ctx) => {
    const session = requireSession(ctx);
    if (!session) return;
    const { stale } = await refreshBinding(deps, log(ctx), session.account.id);
    const [binding, synced] = await Promise.all([findBinding(db, session.account.id), findSyncedProfile(db, session.account.id)]);
    page(ctx, deps, 'settings.njk', {
      binding: binding && {
        status: binding.status,
        boundOn: formatDateRu(calendarDate(binding.bound_at)),
        message: binding.status === 'disconnected' ? disconnectedMessage(binding) : undefined,
      },
      synced: synced && {
        passport: synced.passport,
        passportIssued: synced.passport?.issueDate ? formatDateRu(synced.passport.issueDate) : undefined,
        addresses: synced.addresses,
        snils: synced.snils ? formatSnils(synced.snils) : undefined,
        syncedAt: synced.synced_at.toLocaleString('ru-RU', { timeZone: 'Europe/Moscow' }),
      },
      stale,
      notice: noticeOf(ctx),
    });
  });

  router.post('/settings/gosuslugi/connect', async (ctx) => {
    const session = requireSession(ctx);
    if (!session) return;
    const binding = await findBinding(db, session.account.id);
    // Connecting twice would only muddle which grant the binding uses; «Отключить» first.
    if (binding?.status === 'connected') {
      ctx.status = 303;
      ctx.redirect('/settings');
      return;
    }
    await redirectToIdp(ctx, deps, 'bind', session.account.id);
  });

  router.post('/settings/gosuslugi/disconnect', async (ctx) => {
    const session = requireSession(ctx);
    if (!session) return;
    const { existed, revokedAtIdp } = await disconnectBinding(deps, log(ctx), session.account.id);
    ctx.status = 303;
    ctx.redirect(existed ? `/settings?disconnected=${revokedAtIdp ? '1' : 'local'}` : '/settings');
  });

  return router;
}

function noticeOf(ctx: Context): string | undefined {
  if (ctx.query.connected === '1') return 'Госуслуги подключены. Данные профиля обновлены.';
  if (ctx.query.disconnected === '1') return 'Госуслуги отключены. Доступ Мос.ру к вашим данным отозван, полученные данные удалены.';
  if (ctx.query.disconnected === 'local') return 'Госуслуги отключены на Мос.ру, но Госуслуги сейчас недоступны: отзовите доступ в разделе «Связанные сервисы» на Госуслугах.';
  return undefined;
}
