import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { translator } from '../http/i18n.ts';
import { requireCitizen } from '../account/account-session.ts';
import { localeOf, localUrl, renderAccountPage } from '../account/account-pages.ts';
import { deleteAccount } from './account-deletion.service.ts';

/** What the citizen types to show they mean it (any case, spaces around ignored). */
export const DELETION_WORD = 'УДАЛИТЬ';

/**
 * /account/delete: the warning, the password and the typed word on one form; then the account is
 * erased (account-deletion.service.ts) and the browser, now signed in to nothing, lands on
 * /account/delete/done.
 */
export function accountDeletionRoutes({ provider, db, views, hasher }: PageDeps): Router {
  const router = new Router({ prefix: '/account/delete' });
  const signedIn = requireCitizen(provider, db);

  const renderForm = (ctx: Context, errors: Record<string, string> = {}, status?: number) =>
    renderAccountPage(ctx, views, 'account-delete.njk', { active: 'security', tab: 'delete', errors, word: DELETION_WORD, status });

  router.get('/', signedIn, (ctx) => renderForm(ctx));

  router.post('/', signedIn, async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const password = typeof body.password === 'string' ? body.password : '';
    const word = typeof body.confirm === 'string' ? body.confirm.trim().toLocaleUpperCase('ru') : '';
    const t = translator(localeOf(ctx));
    const errors: Record<string, string> = {};
    if (!password) errors.password = t('deletion.error.password_required');
    else if (!(await hasher.verify(citizen.password_hash, password))) errors.password = t('deletion.error.password_wrong');
    if (word !== DELETION_WORD) errors.confirm = t('deletion.error.confirmation');
    if (Object.keys(errors).length > 0) return renderForm(ctx, errors, 400);

    await deleteAccount(provider, db, { oid: citizen.oid, requestId: ctx.state.requestId as string | undefined });
    // The Session row is gone already; the cookie naming it goes too.
    ctx.cookies.set(provider.cookieName('session'), null, { signed: true });
    ctx.redirect(localUrl(localeOf(ctx), '/account/delete/done'));
    ctx.status = 303;
  });

  router.get('/done', (ctx) => {
    const locale = localeOf(ctx);
    const t = translator(locale);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render('message.njk', locale, { heading: t('deletion.done_title'), message: t('deletion.done') });
  });

  return router;
}
