import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import { requireCitizen } from '../account/account-session.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { pickLocale, translator } from '../http/i18n.ts';
import { AppError } from '../shared/app-error.ts';
import { requestRegistryCheck } from './registry-check.service.ts';
import { confirmLetterCode, LETTER_CODE_POLICY, orderConfirmationLetter } from './letter.service.ts';
import { loadVerificationView, shownDate } from './verification-view.ts';

const NOTICES = new Set(['check_requested', 'letter_ordered', 'confirmed']);
/** Refusals the page explains itself (with the status); anything else goes to the error page. */
const PAGE_ERRORS = new Set([
  'verification.not_simplified', 'verification.data_incomplete', 'verification.check_pending',
  'letter.not_standard', 'letter.no_address', 'letter.already_sent', 'letter.too_soon',
]);

/**
 * /account/verification: the registry check (simplified → standard) and the confirmation letter
 * (standard → confirmed). Each POST redirects back with a notice, or re-renders with the reason.
 */
export function verificationRoutes({ provider, db, clock, views, codeHasher }: PageDeps): Router {
  const router = new Router({ prefix: '/account/verification' });
  const signedIn = requireCitizen(provider, db);

  async function render(ctx: Context, extra: { notice?: string; error?: string; codeError?: string } = {}) {
    const locale = pickLocale(ctx.query.lang);
    // Re-read: the action just taken may have changed the level.
    const citizen = (await findCitizenByOid(db, (ctx.state.citizen as Citizen).oid))!;
    const view = await loadVerificationView(db, citizen, clock.now());
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render('verification-page.njk', locale, {
      ...view, ...extra, citizen, active: 'verification', csrfToken: ctx.state.csrfToken, langQuery: locale === 'en' ? '?lang=en' : '',
    });
  }

  /** Runs an action; a refusal the page explains is shown on the page with its status. */
  async function attempt(ctx: Context, action: () => Promise<unknown>, notice: string) {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof AppError) || !PAGE_ERRORS.has(error.code)) throw error;
      const t = translator(pickLocale(ctx.query.lang));
      const retryAfter = error.details?.retryAfterSeconds;
      if (typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter));
      ctx.status = error.status;
      const date = typeof retryAfter === 'number' ? shownDate(new Date(clock.now().getTime() + retryAfter * 1000)) : '';
      return render(ctx, { error: t(error.code, { date }) });
    }
    ctx.redirect(`/account/verification?notice=${notice}${ctx.query.lang === 'en' ? '&lang=en' : ''}`);
  }

  router.get('/', signedIn, async (ctx) => {
    const t = translator(pickLocale(ctx.query.lang));
    const notice = typeof ctx.query.notice === 'string' && NOTICES.has(ctx.query.notice) ? t(`verification.notice.${ctx.query.notice}`) : undefined;
    await render(ctx, { notice });
  });

  router.post('/check', signedIn, (ctx) =>
    attempt(ctx, () => requestRegistryCheck(db, { citizenOid: (ctx.state.citizen as Citizen).oid, now: clock.now(), requestId: ctx.state.requestId }), 'check_requested'),
  );

  router.post('/letter', signedIn, (ctx) =>
    attempt(ctx, () => orderConfirmationLetter(db, codeHasher, { citizenOid: (ctx.state.citizen as Citizen).oid, now: clock.now(), requestId: ctx.state.requestId }), 'letter_ordered'),
  );

  router.post('/letter/code', signedIn, async (ctx) => {
    const t = translator(pickLocale(ctx.query.lang));
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const code = typeof body.code === 'string' ? body.code.replace(/[\s-]/g, '') : '';
    // A mistyped code costs no try: only a well-formed one is checked.
    const formatError = !code ? 'letter.code_required' : new RegExp(`^\\d{${LETTER_CODE_POLICY.digits}}$`).test(code) ? undefined : 'letter.code_format';
    if (formatError) {
      ctx.status = 400;
      return render(ctx, { codeError: t(formatError) });
    }
    const outcome = await confirmLetterCode(db, codeHasher, { citizenOid: (ctx.state.citizen as Citizen).oid, code, now: clock.now(), requestId: ctx.state.requestId });
    switch (outcome.result) {
      case 'confirmed':
        ctx.redirect(`/account/verification?notice=confirmed${ctx.query.lang === 'en' ? '&lang=en' : ''}`);
        return;
      case 'wrong':
        ctx.status = 400;
        return render(ctx, { codeError: t('letter.code_wrong', { attempts: String(outcome.attemptsLeft) }) });
      case 'locked':
        ctx.status = 400;
        return render(ctx, { error: t('verification.letter.locked') });
      case 'expired':
        ctx.status = 400;
        return render(ctx, { error: t('verification.letter.expired') });
      case 'no_letter':
        ctx.status = 409;
        return render(ctx, { error: t('letter.no_letter') });
    }
  });

  return router;
}
