import Router from '@koa/router';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { pickLocale, translator } from '../http/i18n.ts';
import { requireCitizen } from './account-session.ts';
import { disconnectService, listLinkedServices } from './linked-services.service.ts';

/** «Связанные сервисы»: the services the citizen let in, and revoking them. */
export function linkedServicesRoutes({ provider, db, views, clock }: PageDeps): Router {
  const router = new Router({ prefix: '/account/linked-services' });
  router.use(requireCitizen(provider, db));

  router.get('/', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const locale = pickLocale(ctx.query.lang);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render('account-linked-services.njk', locale, {
      citizen,
      active: 'linked',
      services: await listLinkedServices(provider, db, clock, citizen.oid),
      csrfToken: ctx.state.csrfToken,
      notice: ctx.query.disconnected ? translator(locale)('linked.disconnected', { name: String(ctx.query.disconnected) }) : undefined,
    });
  });

  // A confirmation page first: revoking cannot be undone (the service must ask for consent again).
  router.get('/:clientId/disconnect', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const service = (await listLinkedServices(provider, db, clock, citizen.oid)).find((s) => s.clientId === ctx.params.clientId);
    if (!service) return ctx.throw(404);
    ctx.type = 'html';
    ctx.body = views.render('account-linked-disconnect.njk', pickLocale(ctx.query.lang), { citizen, active: 'linked', service, csrfToken: ctx.state.csrfToken });
  });

  router.post('/:clientId/disconnect', async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const service = (await listLinkedServices(provider, db, clock, citizen.oid)).find((s) => s.clientId === ctx.params.clientId);
    if (!service) return ctx.throw(404);
    await disconnectService(provider, db, clock, { oid: citizen.oid, clientId: service.clientId, requestId: ctx.state.requestId });
    ctx.status = 303;
    ctx.redirect(`/account/linked-services?disconnected=${encodeURIComponent(service.name)}`);
  });

  return router;
}
