import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import { CONTACT_CODE_POLICY, secondsUntilResend } from '../codes/codes.service.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import { pickLocale, translator, type Locale, type Translate } from '../http/i18n.ts';
import { displayContact, parseContactInput } from '../registration/contact-input.ts';
import { codeCheckProblem, codeSendProblem, type CodeStepProblem } from '../registration/code-step.ts';
import { bindFlowToBrowser, isFlowBoundToBrowser, isFlowId } from '../registration/flow-cookie.ts';
import { problemTexts } from '../registration/problem-text.ts';
import { newPasswordProblems } from '../registration/registration.service.ts';
import { findRecoveryFlow, type RecoveryFlow } from './recovery.repository.ts';
import {
  RECOVERY_CODE_PURPOSE, RECOVERY_FLOW_TTL_SECONDS, confirmRecoveryCode, resendRecoveryCode, resetPassword, sendLoginHint, startRecovery,
} from './recovery.service.ts';

const FLOW_COOKIE = 'recovery_flow';
/** oidc-provider's interaction uids: url-safe characters only, so `/interaction/<uid>` stays our own path. */
const INTERACTION_UID = /^[\w-]{1,64}$/;

/**
 * The page's context, read from the query: `lang=en`, and `interaction=<uid>` when the citizen came
 * from a login page and should be offered the way back to it. Both travel on every link and form.
 */
interface RecoveryPage {
  locale: Locale;
  t: Translate;
  query: string;
  signIn: { href: string; text: string };
}

/** Routes for password recovery and forgotten login (/recovery). */
export function recoveryRoutes(deps: PageDeps): Router {
  const { db, clock, views, codeHasher, hasher } = deps;
  const router = new Router({ prefix: '/recovery' });

  // "Forgot login" first: /recovery/login must not be read as a flow id.
  router.get('/login', (ctx) => renderContactForm(ctx, pageContext(ctx), 'login', '', {}));
  router.post('/login', async (ctx) => {
    const page = pageContext(ctx);
    const typed = bodyField(ctx, 'contact');
    const contact = parseContactInput(typed);
    if (!contact.ok) {
      renderContactForm(ctx, page, 'login', typed, problemTexts({ contact: [contact.reason] }, page.locale), undefined, 400);
      return;
    }
    const now = clock.now();
    try {
      await sendLoginHint(db, codeHasher, { contact: { kind: contact.kind, value: contact.value }, now });
    } catch (error) {
      const problem = codeSendProblem(error, now);
      if (!problem) throw error;
      setRetryAfter(ctx, problem);
      renderContactForm(ctx, page, 'login', typed, {}, page.t(problem.key, problem.params), problem.status);
      return;
    }
    renderMessage(ctx, page, 200, page.t('recovery.login_title'), page.t('recovery.login_sent'), [page.signIn]);
  });

  router.get('/', (ctx) => renderContactForm(ctx, pageContext(ctx), 'password', '', {}));
  router.post('/', async (ctx) => {
    const page = pageContext(ctx);
    const typed = bodyField(ctx, 'contact');
    const contact = parseContactInput(typed);
    if (!contact.ok) {
      renderContactForm(ctx, page, 'password', typed, problemTexts({ contact: [contact.reason] }, page.locale), undefined, 400);
      return;
    }
    const now = clock.now();
    let flow: RecoveryFlow;
    try {
      flow = await startRecovery(db, codeHasher, { contact: { kind: contact.kind, value: contact.value }, now });
    } catch (error) {
      const problem = codeSendProblem(error, now);
      if (!problem) throw error;
      setRetryAfter(ctx, problem);
      renderContactForm(ctx, page, 'password', typed, {}, page.t(problem.key, problem.params), problem.status);
      return;
    }
    bindFlowToBrowser(ctx, { name: FLOW_COOKIE, path: '/recovery', maxAgeSeconds: RECOVERY_FLOW_TTL_SECONDS, secure: deps.secureCookies }, flow.id);
    ctx.status = 303;
    ctx.redirect(`/recovery/${flow.id}${page.query}`);
  });

  router.get('/:flowId', withFlow(showFlow));

  router.post('/:flowId/confirm', withFlow(async (ctx, page, flow) => {
    const code = bodyField(ctx, 'code').trim();
    if (flow.state === 'awaiting_code' && !code) {
      await renderCode(ctx, page, flow, { codeError: page.t('contact_code.required'), status: 400 });
      return;
    }
    const result = await confirmRecoveryCode(db, codeHasher, { flowId: flow.id, code, now: clock.now() });
    if (result.outcome === 'code_refused') {
      const problem = codeCheckProblem(result.check);
      await renderCode(ctx, page, flow, { codeError: page.t(problem.key, problem.params), status: problem.status });
      return;
    }
    // verified (→ the new-password form), expired or already moved on: the flow's page shows which.
    ctx.status = 303;
    ctx.redirect(`/recovery/${flow.id}${page.query}`);
  }));

  router.post('/:flowId/resend', withFlow(async (ctx, page, flow) => {
    const now = clock.now();
    if (flow.state !== 'awaiting_code' || flow.expires_at <= now) {
      await showFlow(ctx, page, flow);
      return;
    }
    try {
      await resendRecoveryCode(db, codeHasher, flow.id, now);
    } catch (error) {
      const problem = codeSendProblem(error, now);
      if (!problem) throw error;
      setRetryAfter(ctx, problem);
      await renderCode(ctx, page, flow, { resendError: page.t(problem.key, problem.params), status: problem.status });
      return;
    }
    await renderCode(ctx, page, flow, { notice: page.t('contact_code.sent_again') });
  }));

  router.post('/:flowId/password', withFlow(async (ctx, page, flow) => {
    const citizen = flow.state === 'code_verified' && flow.citizen_oid ? await findCitizenByOid(db, flow.citizen_oid) : undefined;
    if (!citizen) {
      await showFlow(ctx, page, flow);
      return;
    }
    const password = bodyField(ctx, 'password');
    const problems = newPasswordProblems(password, bodyField(ctx, 'passwordRepeat'), { phone: citizen.phone, email: citizen.email, lastName: citizen.last_name });
    if (Object.keys(problems).length) {
      renderPasswordForm(ctx, page, flow, problemTexts(problems, page.locale), 400);
      return;
    }
    await resetPassword(db, hasher, { flowId: flow.id, password, now: clock.now(), requestId: ctx.state.requestId });
    ctx.status = 303;
    ctx.redirect(`/recovery/${flow.id}${page.query}`);
  }));

  /** Runs a step only for this browser's own flow; anyone else gets "not found", whatever the id. */
  function withFlow(step: (ctx: Context, page: RecoveryPage, flow: RecoveryFlow) => Promise<void>) {
    return async (ctx: Context) => {
      const page = pageContext(ctx);
      const flowId = ctx.params.flowId;
      const flow = isFlowId(flowId) && isFlowBoundToBrowser(ctx, FLOW_COOKIE, flowId) ? await findRecoveryFlow(db, flowId) : undefined;
      if (!flow) {
        renderMessage(ctx, page, 404, page.t('recovery.title'), page.t('recovery.flow_not_found'), [{ href: `/recovery${page.query}`, text: page.t('recovery.start_again') }]);
        return;
      }
      await step(ctx, page, flow);
    };
  }

  async function showFlow(ctx: Context, page: RecoveryPage, flow: RecoveryFlow): Promise<void> {
    if (flow.state === 'completed') {
      renderMessage(ctx, page, 200, page.t('recovery.done_title'), page.t('recovery.done'), [page.signIn]);
    } else if (flow.expires_at <= clock.now() || flow.state === 'failed') {
      renderMessage(ctx, page, 410, page.t('recovery.title'), page.t('recovery.flow_expired'), [{ href: `/recovery${page.query}`, text: page.t('recovery.start_again') }]);
    } else if (flow.state === 'code_verified') {
      renderPasswordForm(ctx, page, flow, {});
    } else {
      await renderCode(ctx, page, flow, {});
    }
  }

  function pageContext(ctx: Context): RecoveryPage {
    const locale = pickLocale(ctx.query.lang);
    const t = translator(locale);
    const interaction = typeof ctx.query.interaction === 'string' && INTERACTION_UID.test(ctx.query.interaction) ? ctx.query.interaction : undefined;
    const params = new URLSearchParams({ ...(interaction ? { interaction } : {}), ...(locale === 'en' ? { lang: 'en' } : {}) }).toString();
    return {
      locale, t, query: params ? `?${params}` : '',
      signIn: interaction
        ? { href: `/interaction/${interaction}`, text: t('recovery.back_to_login') }
        : { href: locale === 'en' ? '/account/login?ui_locales=en' : '/account', text: t('recovery.sign_in') },
    };
  }

  function renderContactForm(ctx: Context, page: RecoveryPage, kind: 'password' | 'login', contact: string, errors: Record<string, string[]>, formError?: string, status = 200): void {
    const { t } = page;
    const other = kind === 'password'
      ? { href: `/recovery/login${page.query}`, text: t('login.forgot_login') }
      : { href: `/recovery${page.query}`, text: t('recovery.forgot_password') };
    render(ctx, page, status, 'recovery-contact.njk', {
      heading: t(kind === 'password' ? 'recovery.title' : 'recovery.login_title'),
      intro: t(kind === 'password' ? 'recovery.intro' : 'recovery.login_intro'),
      submitLabel: t(kind === 'password' ? 'recovery.submit' : 'recovery.login_submit'),
      action: `/recovery${kind === 'login' ? '/login' : ''}${page.query}`,
      contact, errors, formError, links: [page.signIn, other],
    });
  }

  async function renderCode(ctx: Context, page: RecoveryPage, flow: RecoveryFlow, extra: { codeError?: string; resendError?: string; notice?: string; status?: number }): Promise<void> {
    const resendWait = await secondsUntilResend(db, { purpose: RECOVERY_CODE_PURPOSE, flowId: flow.id, policy: CONTACT_CODE_POLICY, now: clock.now() });
    const flowUrl = `/recovery/${flow.id}`;
    render(ctx, page, extra.status ?? 200, 'recovery-code.njk', {
      contact: displayContact(flow.contact_kind, flow.contact_value),
      confirmAction: `${flowUrl}/confirm${page.query}`, resendAction: `${flowUrl}/resend${page.query}`, refreshUrl: `${flowUrl}${page.query}`,
      startUrl: `/recovery${page.query}`, resendWait, ...extra,
    });
  }

  function renderPasswordForm(ctx: Context, page: RecoveryPage, flow: RecoveryFlow, errors: Record<string, string[]>, status = 200): void {
    render(ctx, page, status, 'recovery-password.njk', { action: `/recovery/${flow.id}/password${page.query}`, errors });
  }

  function renderMessage(ctx: Context, page: RecoveryPage, status: number, heading: string, message: string, links: Array<{ href: string; text: string }>): void {
    render(ctx, page, status, 'registration-message.njk', { heading, message, links });
  }

  function render(ctx: Context, page: RecoveryPage, status: number, template: string, context: Record<string, unknown>): void {
    ctx.set('Cache-Control', 'no-store');
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render(template, page.locale, { csrfToken: ctx.state.csrfToken, ...context });
  }

  return router;
}

function bodyField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function setRetryAfter(ctx: Context, problem: CodeStepProblem): void {
  if (problem.retryAfterSeconds) ctx.set('Retry-After', String(problem.retryAfterSeconds));
}
