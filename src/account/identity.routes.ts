import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { translator } from '../http/i18n.ts';
import { calendarDate } from '../shared/validators.ts';
import { requireCitizen } from './account-session.ts';
import { errorTexts, localeOf, localUrl, redirectWithNotice, renderAccountPage } from './account-pages.ts';
import {
  addressFormValues, ADDRESS_FIELDS, CITIZENSHIPS, field, parseAddressesForm, parsePassportForm, parsePersonalForm, passportFormValues,
  personalFormValues, PASSPORT_FIELDS, PERSONAL_FIELDS, typedValues, type FieldErrors, type FormBody,
} from './identity-forms.ts';
import { findAddresses } from './identity.repository.ts';
import { findPassport } from '../citizens/citizens.repository.ts';
import { saveAddresses, savePassport, savePersonalData, type PersonalSaveOutcome } from './identity.service.ts';

const ADDRESS_FORM_FIELDS = [...(['PRG', 'PLV'] as const).flatMap((type) => ADDRESS_FIELDS.map((column) => `${type}_${column}`)), 'PLV_same'];

/** /account/personal, /account/documents and /account/addresses: the citizen's identity data. */
export function identityRoutes(deps: PageDeps): Router {
  const router = new Router({ prefix: '/account' });
  const signedIn = requireCitizen(deps.provider, deps.db);
  const bodyOf = (ctx: Context): FormBody => (ctx.request.body ?? {}) as FormBody;
  const changeContext = (ctx: Context) => ({
    oid: (ctx.state.citizen as Citizen).oid,
    confirmedDowngrade: field(bodyOf(ctx), 'confirm_downgrade') === '1',
    now: deps.clock.now(),
    requestId: ctx.state.requestId as string | undefined,
  });

  // ─── Personal data ──────────────────────────────────────────────────────────────────────────────
  const renderPersonal = (ctx: Context, values: Record<string, string>, errors: FieldErrors = {}, status?: number) =>
    renderAccountPage(ctx, deps.views, 'account-personal.njk', {
      active: 'personal', status, values, errors: errorTexts(translator(localeOf(ctx)), errors), citizenships: CITIZENSHIPS,
    });

  router.get('/personal', signedIn, (ctx) => renderPersonal(ctx, personalFormValues(ctx.state.citizen)));

  router.post('/personal', signedIn, async (ctx) => {
    const body = bodyOf(ctx);
    const context = changeContext(ctx);
    const typed = typedValues(body, PERSONAL_FIELDS);
    const parsed = parsePersonalForm(body, calendarDate(context.now));
    if (!parsed.ok) return renderPersonal(ctx, typed, parsed.errors, 400);
    const outcome: PersonalSaveOutcome = await savePersonalData(deps.db, parsed.value, context);
    if (outcome.result === 'snils_taken') return renderPersonal(ctx, typed, { snils: 'profile.error.snils.taken' }, 409);
    if (outcome.result === 'needs_confirmation') return renderConfirmChange(ctx, '/account/personal', 'personal', typed, outcome.verifiedFields);
    redirectWithNotice(ctx, '/account/personal', outcome.result === 'unchanged' ? 'unchanged' : outcome.downgraded ? 'saved_simplified' : 'saved');
  });

  // ─── RF passport ────────────────────────────────────────────────────────────────────────────────
  const renderDocuments = async (ctx: Context, values?: Record<string, string>, errors: FieldErrors = {}, status?: number) => {
    const citizen = ctx.state.citizen as Citizen;
    const passport = await findPassport(deps.db, citizen.oid);
    renderAccountPage(ctx, deps.views, 'account-documents.njk', {
      active: 'documents', status, passport, needsBirthDate: !citizen.birth_date,
      values: values ?? passportFormValues(passport), errors: errorTexts(translator(localeOf(ctx)), errors),
    });
  };

  router.get('/documents', signedIn, (ctx) => renderDocuments(ctx));

  router.post('/documents', signedIn, async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const body = bodyOf(ctx);
    const context = changeContext(ctx);
    const typed = typedValues(body, PASSPORT_FIELDS);
    // The issue date is checked against the 14th birthday, so the birth date comes first.
    if (!citizen.birth_date) return renderDocuments(ctx, typed, { issue_date: 'profile.error.issue_date.needs_birth_date' }, 400);
    const parsed = parsePassportForm(body, { birthDate: citizen.birth_date, today: calendarDate(context.now) });
    if (!parsed.ok) return renderDocuments(ctx, typed, parsed.errors, 400);
    const outcome = await savePassport(deps.db, parsed.value, context);
    if (outcome.result === 'needs_confirmation') return renderConfirmChange(ctx, '/account/documents', 'documents', typed, ['passport']);
    redirectWithNotice(ctx, '/account/documents', outcome.result === 'unchanged' ? 'unchanged' : outcome.downgraded ? 'saved_simplified' : 'saved');
  });

  // ─── Addresses ──────────────────────────────────────────────────────────────────────────────────
  const renderAddresses = (ctx: Context, values: Record<string, string>, errors: FieldErrors = {}, status?: number) =>
    renderAccountPage(ctx, deps.views, 'account-addresses.njk', { active: 'addresses', status, values, errors: errorTexts(translator(localeOf(ctx)), errors) });

  router.get('/addresses', signedIn, async (ctx) => {
    const addresses = await findAddresses(deps.db, (ctx.state.citizen as Citizen).oid);
    const values = addressFormValues(addresses);
    const same = addresses.PRG && addresses.PLV && ADDRESS_FIELDS.every((column) => addresses.PRG![column] === addresses.PLV![column]);
    renderAddresses(ctx, { ...values, PLV_same: same ? '1' : '' });
  });

  router.post('/addresses', signedIn, async (ctx) => {
    const body = bodyOf(ctx);
    const parsed = parseAddressesForm(body);
    if (!parsed.ok) return renderAddresses(ctx, typedValues(body, ADDRESS_FORM_FIELDS), parsed.errors, 400);
    const { confirmedDowngrade: _, ...context } = changeContext(ctx);
    const outcome = await saveAddresses(deps.db, parsed.value, context);
    redirectWithNotice(ctx, '/account/addresses', outcome.result === 'saved' ? 'saved' : 'unchanged');
  });

  /**
   * The warning before a change that ends the account's level. The typed values travel in hidden
   * fields (with the CSRF token) and are validated again when the citizen confirms.
   */
  function renderConfirmChange(ctx: Context, action: string, active: string, typed: Record<string, string>, fields: string[]): void {
    const t = translator(localeOf(ctx));
    renderAccountPage(ctx, deps.views, 'account-confirm-change.njk', {
      active,
      action,
      cancelHref: localUrl(localeOf(ctx), action),
      hidden: Object.entries(typed),
      changedFields: fields.map((name) => t(`profile.changing.${name}`)).join(', '),
    });
  }

  return router;
}
