import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { translator, type Locale, type Translate } from '../http/i18n.ts';
import { requireCitizen } from '../account/account-session.ts';
import { localeOf, localUrl, renderAccountPage } from '../account/account-pages.ts';
import { consumeRateLimit } from '../security/rate-limits.ts';
import { AppError } from '../shared/app-error.ts';
import { addYears, calendarDate, formatDateRu } from '../shared/validators.ts';
import { addDays, lastDayOf, MAX_POWER_YEARS, readPowerForm, type PowerForm, type PowerFormProblems, type Problem } from './power-form.ts';
import { PowerStateError } from './power-states.ts';
import { listRelyingParties } from './powers.repository.ts';
import {
  activatePower, createDraftPower, discardDraft, getPowerForCitizen, listCitizenPowers, listManagedOrganisations, PowerConflictError, revokePower,
  type PowerView,
} from './powers.service.ts';
import { POA_RIGHTS } from './powers.table.ts';

const BASE = '/account/powers';
const NOTICES = ['created', 'activated', 'discarded', 'revoked', 'renounced'] as const;
/**
 * A principal names representatives by SNILS, and "not found" says whether a verified account has
 * that SNILS. SNILS is no secret (employers and clinics hold it), but a budget per citizen keeps the
 * form from being used to sweep the number space.
 */
const CREATE_LIMIT = { points: 30, windowSeconds: 3600 };

/**
 * «Доверенности»: the powers the citizen granted (in their own name and for the organisations they
 * head or administer) and received, a power's page with its actions, and the create form.
 */
export function powersRoutes({ provider, db, views, clock }: PageDeps): Router {
  const router = new Router({ prefix: BASE });
  router.use(requireCitizen(provider, db));
  const citizenOf = (ctx: Context) => ctx.state.citizen as Citizen;
  const requestId = (ctx: Context) => ctx.state.requestId as string | undefined;
  const fullName = (c: Citizen) => [c.last_name, c.first_name, c.middle_name].filter(Boolean).join(' ');
  const noticeOf = (ctx: Context, t: Translate) =>
    typeof ctx.query.done === 'string' && (NOTICES as readonly string[]).includes(ctx.query.done) ? t(`powers.notice.${ctx.query.done}`) : undefined;
  const redirectTo = (ctx: Context, path: string, done: (typeof NOTICES)[number]) => {
    ctx.redirect(localUrl(localeOf(ctx), path, { done }));
    ctx.status = 303;
  };

  async function describeOne(locale: Locale, power: PowerView) {
    const t = translator(locale);
    const clientNames = new Map((await listRelyingParties(db)).map((c) => [c.clientId, c.name]));
    return describePower(t, locale, power, clientNames, clock.now());
  }

  router.get('/', async (ctx) => {
    const citizen = citizenOf(ctx);
    const locale = localeOf(ctx);
    const t = translator(locale);
    const powers = await listCitizenPowers(db, { oid: citizen.oid, displayName: fullName(citizen) }, clock.now());
    const clientNames = new Map((await listRelyingParties(db)).map((c) => [c.clientId, c.name]));
    const now = clock.now();
    const describeAll = (list: PowerView[]) => list.map((p) => describePower(t, locale, p, clientNames, now));
    const bucket = (b: { active: PowerView[]; drafts: PowerView[]; ended: PowerView[] }) => ({ active: describeAll(b.active), drafts: describeAll(b.drafts), ended: describeAll(b.ended) });
    renderAccountPage(ctx, views, 'powers-list.njk', {
      active: 'powers',
      notice: noticeOf(ctx, t),
      granted: powers.granted.map((g) => ({ principal: g.principal, powers: bucket(g.powers) })),
      received: bucket(powers.received),
    });
  });

  // ─── Create ───

  async function renderForm(ctx: Context, form: PowerForm, problems: PowerFormProblems = {}, status?: number) {
    const citizen = citizenOf(ctx);
    const t = translator(localeOf(ctx));
    renderAccountPage(ctx, views, 'powers-form.njk', {
      active: 'powers',
      form,
      organisations: await listManagedOrganisations(db, citizen.oid),
      clients: await listRelyingParties(db),
      rights: POA_RIGHTS,
      maxYears: String(MAX_POWER_YEARS),
      errors: problemTexts(t, problems),
      status,
    });
  }

  router.get('/new', async (ctx) => {
    const today = calendarDate(clock.now());
    const principal = typeof ctx.query.principal === 'string' ? ctx.query.principal : 'self';
    await renderForm(ctx, { principal, representativeSnils: '', rights: [], clientIds: [], validFrom: formatDateRu(today), validTo: formatDateRu(addDays(addYears(today, 1), -1)) });
  });

  router.post('/', async (ctx) => {
    const citizen = citizenOf(ctx);
    const now = clock.now();
    const limit = await consumeRateLimit(db, `powers_create:citizen:${citizen.oid}`, CREATE_LIMIT, now);
    if (!limit.allowed) throw new AppError('error.rate_limited', 429, 'too many powers of attorney drafted', { retryAfterSeconds: limit.retryAfterSeconds });
    const form = readPowerForm((ctx.request.body ?? {}) as Record<string, unknown>);
    const outcome = await createDraftPower(db, { actorOid: citizen.oid, form, now, requestId: requestId(ctx) });
    if (outcome.result === 'invalid') return renderForm(ctx, form, outcome.problems, 400);
    redirectTo(ctx, `${BASE}/${outcome.id}`, 'created');
  });

  // ─── One power ───

  async function renderPower(ctx: Context, options: { error?: Problem; reasonError?: string; reason?: string; status?: number } = {}) {
    const citizen = citizenOf(ctx);
    const locale = localeOf(ctx);
    const t = translator(locale);
    const power = await getPowerForCitizen(db, ctx.params.id, citizen.oid, clock.now());
    renderAccountPage(ctx, views, 'powers-detail.njk', {
      active: 'powers',
      notice: noticeOf(ctx, t),
      power: await describeOne(locale, power),
      error: options.error ? problemText(t, options.error) : undefined,
      reasonError: options.reasonError,
      reason: options.reason ?? '',
      status: options.status,
    });
  }

  /** Refused transitions and conflicts re-show the power with the reason (409); anything else propagates. */
  async function refusedOr(ctx: Context, error: unknown) {
    if (error instanceof PowerConflictError) return renderPower(ctx, { error: { key: error.code, params: { id: error.conflictingPowerId, right: error.right } }, status: 409 });
    if (error instanceof PowerStateError || (error instanceof AppError && (error.code === 'powers.refused.period_over' || error.code === 'powers.refused.representative_not_verified'))) {
      return renderPower(ctx, { error: { key: (error as AppError).code }, status: 409 });
    }
    throw error;
  }

  router.get('/:id', async (ctx) => renderPower(ctx));

  router.post('/:id/activate', async (ctx) => {
    try {
      await activatePower(db, { actorOid: citizenOf(ctx).oid, powerId: ctx.params.id, now: clock.now(), requestId: requestId(ctx) });
    } catch (error) {
      return refusedOr(ctx, error);
    }
    redirectTo(ctx, `${BASE}/${ctx.params.id}`, 'activated');
  });

  router.post('/:id/discard', async (ctx) => {
    try {
      await discardDraft(db, { actorOid: citizenOf(ctx).oid, powerId: ctx.params.id, now: clock.now(), requestId: requestId(ctx) });
    } catch (error) {
      return refusedOr(ctx, error);
    }
    redirectTo(ctx, BASE, 'discarded');
  });

  router.post('/:id/revoke', async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const reason = typeof body.reason === 'string' ? body.reason : '';
    let event: 'revoked' | 'renounced';
    try {
      ({ event } = await revokePower(db, { actorOid: citizenOf(ctx).oid, powerId: ctx.params.id, reason, now: clock.now(), requestId: requestId(ctx) }));
    } catch (error) {
      if (error instanceof AppError && error.code === 'powers.error.reason.too_long') {
        return renderPower(ctx, { reasonError: translator(localeOf(ctx))(error.code), reason, status: 400 });
      }
      return refusedOr(ctx, error);
    }
    redirectTo(ctx, `${BASE}/${ctx.params.id}`, event);
  });

  return router;
}

function problemText(t: Translate, problem: Problem): string {
  const params = problem.params?.right ? { ...problem.params, right: t(`powers.right.${problem.params.right}`) } : problem.params;
  return t(problem.key, params);
}

function problemTexts(t: Translate, problems: PowerFormProblems): Record<string, string> {
  return Object.fromEntries(Object.entries(problems).map(([field, problem]) => [field, problemText(t, problem!)]));
}

/** What the list and the detail page show of a power, in words. */
function describePower(t: Translate, locale: Locale, power: PowerView, clientNames: Map<string, string>, now: Date) {
  const day = (date: Date) => formatDateRu(calendarDate(date));
  const moment = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'ru-RU', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Moscow' });
  const at = (date: Date | null) => (date ? `${moment.format(date)} (${locale === 'en' ? 'Moscow' : 'МСК'})` : undefined);
  const notStarted = power.effectiveState === 'active' && power.validFrom.getTime() > now.getTime();
  return {
    id: power.id,
    state: power.effectiveState,
    stateLabel: notStarted ? t('powers.state.not_started', { date: day(power.validFrom) }) : t(`powers.state.${power.effectiveState}`),
    principal: power.principal,
    representative: power.representative,
    sides: power.sides,
    rights: power.rights.map((r) => t(`powers.right.${r}`)),
    clients: power.clientIds ? power.clientIds.map((id) => clientNames.get(id) ?? id) : [t('powers.all_clients')],
    period: t('powers.period', { from: day(power.validFrom), to: formatDateRu(lastDayOf(power.validTo)) }),
    createdAt: at(power.createdAt),
    activatedAt: at(power.activatedAt),
    endedAt: at(power.endedAt),
    revokeReason: power.revokeReason,
    canActivate: power.effectiveState === 'draft' && power.sides.principal,
    canRevoke: power.effectiveState === 'active',
  };
}
