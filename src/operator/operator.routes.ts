import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Db } from '../db/database.ts';
import { requireCitizen } from '../account/account-session.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { listAuditEvents } from '../audit/audit.service.ts';
import { pickLocale, translator } from '../http/i18n.ts';
import { AppError } from '../shared/app-error.ts';
import { calendarDate, formatDateRu, formatSnils, validateSnils } from '../shared/validators.ts';
import { findPassport } from '../citizens/citizens.repository.ts';
import { confirmationBlocker, confirmInPerson, findCitizensBySnils, findOperatorRole, type OperatorRole } from './operator.service.ts';
import { auditRows } from './operator-view.ts';

/** Refusals of the confirm form, shown on the citizen's card. */
const CONFIRM_ERRORS = new Set(['operator.passport_check_required', 'operator.cannot_confirm_self', 'operator.already_confirmed', 'operator.not_standard', 'operator.passport_not_verified']);

/**
 * The service-centre operator's desk (/operator). Operators sign in like everyone (same session
 * as /account) and must hold the `operator` staff role; anyone else gets 403.
 */
export function operatorRoutes({ provider, db, clock, views }: PageDeps): Router {
  const router = new Router({ prefix: '/operator' });
  const operatorOnly = [requireCitizen(provider, db), requireOperatorRole(db)];

  function render(ctx: Context, template: string, context: Record<string, unknown>) {
    const locale = pickLocale(ctx.query.lang);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render(template, locale, {
      ...context, operator: ctx.state.operator, operatorCitizen: ctx.state.citizen, csrfToken: ctx.state.csrfToken, langQuery: locale === 'en' ? '?lang=en' : '',
    });
  }

  async function renderCitizen(ctx: Context, citizen: Citizen, extra: { error?: string; notice?: string } = {}) {
    const passport = await findPassport(db, citizen.oid);
    const blocker = confirmationBlocker((ctx.state.citizen as Citizen).oid, citizen, passport);
    const t = translator(pickLocale(ctx.query.lang));
    render(ctx, 'operator-citizen.njk', {
      ...extra,
      person: { ...citizen, birthDateShown: citizen.birth_date ? formatDateRu(citizen.birth_date) : undefined, snilsShown: citizen.snils ? formatSnils(citizen.snils) : undefined },
      passport: passport && { ...passport, issueDateShown: formatDateRu(passport.issue_date) },
      blocker: blocker && t(blocker),
      events: auditRows(await listAuditEvents(db, citizen.oid, 50)),
    });
  }

  // Search by SNILS: a GET form, so the result page is bookmarkable and nothing changes.
  router.get('/', ...operatorOnly, async (ctx) => {
    const typed = typeof ctx.query.snils === 'string' ? ctx.query.snils : undefined;
    if (typed === undefined) return render(ctx, 'operator-search.njk', {});
    const t = translator(pickLocale(ctx.query.lang));
    const snils = validateSnils(typed);
    if (!snils.ok) {
      ctx.status = 400;
      return render(ctx, 'operator-search.njk', { snils: typed, snilsError: t(`operator.snils.${snils.reason}`) });
    }
    const found = await findCitizensBySnils(db, snils.value);
    if (found.length === 0) return render(ctx, 'operator-search.njk', { snils: typed, notFound: true });
    // One person's accounts not linked yet: the operator asks which one to serve.
    if (found.length > 1) {
      return render(ctx, 'operator-search.njk', {
        snils: typed,
        several: found.map((c) => ({ oid: c.oid, name: [c.last_name, c.first_name, c.middle_name].filter(Boolean).join(' '), trustLevel: c.trust_level, createdShown: formatDateRu(calendarDate(c.created_at)) })),
      });
    }
    ctx.redirect(`/operator/citizens/${found[0].oid}${ctx.query.lang === 'en' ? '?lang=en' : ''}`);
  });

  router.get('/citizens/:oid', ...operatorOnly, async (ctx) => {
    const citizen = await findCitizenByOid(db, ctx.params.oid);
    if (!citizen) throw new AppError('operator.citizen_not_found', 404);
    const t = translator(pickLocale(ctx.query.lang));
    await renderCitizen(ctx, citizen, { notice: ctx.query.notice === 'confirmed' ? t('operator.confirm.done') : undefined });
  });

  router.post('/citizens/:oid/confirm', ...operatorOnly, async (ctx) => {
    const citizen = await findCitizenByOid(db, ctx.params.oid);
    if (!citizen) throw new AppError('operator.citizen_not_found', 404);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    try {
      await confirmInPerson(db, {
        operatorOid: (ctx.state.citizen as Citizen).oid, citizenOid: citizen.oid, passportChecked: body.passport_checked === 'yes', now: clock.now(), requestId: ctx.state.requestId,
      });
    } catch (error) {
      if (!(error instanceof AppError) || !CONFIRM_ERRORS.has(error.code)) throw error;
      ctx.status = error.status;
      return renderCitizen(ctx, (await findCitizenByOid(db, citizen.oid))!, { error: translator(pickLocale(ctx.query.lang))(error.code) });
    }
    ctx.redirect(`/operator/citizens/${citizen.oid}?notice=confirmed${ctx.query.lang === 'en' ? '&lang=en' : ''}`);
  });

  return router;
}

/** After requireCitizen: only holders of the operator role pass; the role goes to `ctx.state.operator`. */
function requireOperatorRole(db: Db): Middleware {
  return async (ctx, next) => {
    const role: OperatorRole | undefined = await findOperatorRole(db, (ctx.state.citizen as Citizen).oid);
    if (!role) throw new AppError('error.forbidden', 403, 'the operator role is required');
    ctx.state.operator = role;
    await next();
  };
}
