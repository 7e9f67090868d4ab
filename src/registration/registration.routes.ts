import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import { CONTACT_CODE_POLICY, secondsUntilResend } from '../codes/codes.service.ts';
import { pickLocale, translator, type Locale } from '../http/i18n.ts';
import { displayContact } from './contact-input.ts';
import { codeCheckProblem, codeSendProblem, type CodeStepProblem } from './code-step.ts';
import { bindFlowToBrowser, isFlowBoundToBrowser, isFlowId } from './flow-cookie.ts';
import { finishLoginAsNewCitizen, loadLoginInteraction } from './login-interaction.ts';
import { problemTexts } from './problem-text.ts';
import { findRegistrationFlow, type RegistrationFlow } from './registration.repository.ts';
import {
  REGISTRATION_CODE_PURPOSE, REGISTRATION_FLOW_TTL_SECONDS, confirmRegistration, resendRegistrationCode, startRegistration, validateRegistration,
  type RegistrationFormInput,
} from './registration.service.ts';

const FLOW_COOKIE = 'registration_flow';

/**
 * Where a registration runs: standalone (/registration, ends on "account created") or inside an
 * OIDC authorization (/interaction/:uid/register, ends by signing the new citizen in for it).
 * Both run the same pages and the same service functions.
 */
interface Entry {
  /** The path the form lives at; flows live below it (`<base>/<flowId>`), and so does the flow cookie. */
  base: string;
  /** Appended to our own links: keeps `?lang=en` on the standalone pages (an interaction has its ui_locales). */
  query: string;
  locale: Locale;
  interactionUid: string | null;
  clientName?: string;
  signInUrl: string;
  recoveryUrl: string;
  onRegistered(ctx: Context, citizenOid: string, flow: RegistrationFlow): Promise<void>;
}

/** Routes for registration (/registration, /interaction/:uid/register). */
export function registrationRoutes(deps: PageDeps): Router {
  const { db, clock, views, provider } = deps;
  const router = new Router();

  async function standalone(ctx: Context): Promise<Entry> {
    const locale = pickLocale(ctx.query.lang);
    const query = locale === 'en' ? '?lang=en' : '';
    return {
      base: '/registration', query, locale, interactionUid: null,
      signInUrl: locale === 'en' ? '/account/login?ui_locales=en' : '/account',
      recoveryUrl: `/recovery${query}`,
      async onRegistered(ctx, _oid, flow) {
        ctx.status = 303;
        ctx.redirect(`/registration/${flow.id}${query}`);
      },
    };
  }

  async function inInteraction(ctx: Context): Promise<Entry> {
    const interaction = await loadLoginInteraction(provider, ctx);
    const uid = interaction.uid;
    const client = await provider.Client.find(String(interaction.params.client_id));
    return {
      base: `/interaction/${uid}/register`, query: '', locale: pickLocale(interaction.params.ui_locales), interactionUid: uid,
      clientName: client?.clientName ?? String(interaction.params.client_id),
      signInUrl: `/interaction/${uid}`,
      recoveryUrl: `/recovery?interaction=${encodeURIComponent(uid)}`,
      onRegistered: (ctx, oid) => finishLoginAsNewCitizen(ctx, provider, oid),
    };
  }

  for (const [path, resolve] of [['/registration', standalone], ['/interaction/:uid/register', inInteraction]] as const) {
    router.get(path, async (ctx) => {
      renderForm(ctx, await resolve(ctx), emptyForm(), {});
    });
    router.post(path, async (ctx) => submitForm(ctx, await resolve(ctx)));
    for (const [suffix, method, step] of [['', 'get', showFlow], ['/confirm', 'post', confirm], ['/resend', 'post', resend]] as const) {
      router[method](`${path}/:flowId${suffix}`, async (ctx) => {
        const entry = await resolve(ctx);
        const flow = await boundFlow(ctx, entry);
        if (flow) await step(ctx, entry, flow);
      });
    }
  }

  async function submitForm(ctx: Context, entry: Entry): Promise<void> {
    const form = readForm(ctx);
    const valid = validateRegistration(form);
    if (!valid.ok) {
      renderForm(ctx, entry, form, problemTexts(valid.problems, entry.locale), undefined, 400);
      return;
    }
    let flow: RegistrationFlow;
    const now = clock.now();
    try {
      flow = await startRegistration(db, deps, { ...valid.value, interactionUid: entry.interactionUid, now });
    } catch (error) {
      const problem = codeSendProblem(error, now);
      if (!problem) throw error;
      setRetryAfter(ctx, problem);
      renderForm(ctx, entry, form, {}, translator(entry.locale)(problem.key, problem.params), problem.status);
      return;
    }
    bindFlowToBrowser(ctx, { name: FLOW_COOKIE, path: entry.base, maxAgeSeconds: REGISTRATION_FLOW_TTL_SECONDS, secure: deps.secureCookies }, flow.id);
    ctx.status = 303;
    ctx.redirect(`${entry.base}/${flow.id}${entry.query}`);
  }

  async function confirm(ctx: Context, entry: Entry, flow: RegistrationFlow): Promise<void> {
    const code = bodyField(ctx, 'code').trim();
    if (flow.state === 'awaiting_code' && !code) {
      await renderCode(ctx, entry, flow, { codeError: translator(entry.locale)('contact_code.required'), status: 400 });
      return;
    }
    const result = await confirmRegistration(db, deps.codeHasher, { flowId: flow.id, code, now: clock.now(), requestId: ctx.state.requestId });
    if (result.outcome === 'registered') {
      await entry.onRegistered(ctx, result.citizenOid, flow);
      return;
    }
    if (result.outcome === 'code_refused') {
      const problem = codeCheckProblem(result.check);
      await renderCode(ctx, entry, flow, { codeError: translator(entry.locale)(problem.key, problem.params), status: problem.status });
      return;
    }
    // contact_taken, flow_expired, closed: the flow's own page tells how it ended.
    await showFlow(ctx, entry, (await findRegistrationFlow(db, flow.id))!);
  }

  async function resend(ctx: Context, entry: Entry, flow: RegistrationFlow): Promise<void> {
    if (flow.state !== 'awaiting_code' || flow.expires_at <= clock.now()) {
      await showFlow(ctx, entry, flow);
      return;
    }
    const now = clock.now();
    const t = translator(entry.locale);
    try {
      await resendRegistrationCode(db, deps.codeHasher, flow.id, now);
    } catch (error) {
      const problem = codeSendProblem(error, now);
      if (!problem) throw error;
      setRetryAfter(ctx, problem);
      await renderCode(ctx, entry, flow, { resendError: t(problem.key, problem.params), status: problem.status });
      return;
    }
    await renderCode(ctx, entry, flow, { notice: t('contact_code.sent_again') });
  }

  /** The page for the flow's state: the code form, "account created", "already registered" or "timed out". */
  async function showFlow(ctx: Context, entry: Entry, flow: RegistrationFlow): Promise<void> {
    const t = translator(entry.locale);
    if (flow.state === 'completed') {
      renderMessage(ctx, entry, 200, t('registration.done_title'), t('registration.done'), [{ href: entry.signInUrl, text: t('registration.sign_in') }]);
    } else if (flow.state === 'failed') {
      renderMessage(ctx, entry, 409, t('registration.taken_title'), t(`registration.taken_${flow.contact_kind}`), [
        { href: entry.signInUrl, text: t('registration.sign_in') },
        { href: entry.recoveryUrl, text: t('registration.recover') },
      ]);
    } else if (flow.expires_at <= clock.now()) {
      renderMessage(ctx, entry, 410, t('registration.title'), t('registration.flow_expired'), [{ href: `${entry.base}${entry.query}`, text: t('registration.start_again') }]);
    } else {
      await renderCode(ctx, entry, flow, {});
    }
  }

  /** This browser's flow for this entry point; otherwise renders "not found": a flow id alone opens nothing. */
  async function boundFlow(ctx: Context, entry: Entry): Promise<RegistrationFlow | undefined> {
    const flowId = ctx.params.flowId;
    const flow = isFlowId(flowId) && isFlowBoundToBrowser(ctx, FLOW_COOKIE, flowId) ? await findRegistrationFlow(db, flowId) : undefined;
    if (flow && flow.interaction_uid === entry.interactionUid) return flow;
    const t = translator(entry.locale);
    renderMessage(ctx, entry, 404, t('registration.title'), t('registration.flow_not_found'), [{ href: `${entry.base}${entry.query}`, text: t('registration.start_again') }]);
    return undefined;
  }

  function renderForm(ctx: Context, entry: Entry, values: RegistrationFormInput, errors: Record<string, string[]>, formError?: string, status = 200): void {
    noStore(ctx);
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render('registration-form.njk', entry.locale, {
      csrfToken: ctx.state.csrfToken, action: `${entry.base}${entry.query}`, clientName: entry.clientName, signInUrl: entry.signInUrl,
      values: { ...values, password: '', passwordRepeat: '' }, errors, formError,
    });
  }

  async function renderCode(
    ctx: Context, entry: Entry, flow: RegistrationFlow,
    extra: { codeError?: string; resendError?: string; notice?: string; status?: number },
  ): Promise<void> {
    const t = translator(entry.locale);
    const resendWait = await secondsUntilResend(db, { purpose: REGISTRATION_CODE_PURPOSE, flowId: flow.id, policy: CONTACT_CODE_POLICY, now: clock.now() });
    const flowUrl = `${entry.base}/${flow.id}`;
    noStore(ctx);
    ctx.status = extra.status ?? 200;
    ctx.type = 'html';
    ctx.body = views.render('registration-code.njk', entry.locale, {
      csrfToken: ctx.state.csrfToken,
      sentTo: t(`contact_code.sent_${flow.contact_kind}`, { contact: displayContact(flow.contact_kind, flow.contact_value) }),
      confirmAction: `${flowUrl}/confirm${entry.query}`, resendAction: `${flowUrl}/resend${entry.query}`, refreshUrl: `${flowUrl}${entry.query}`,
      startUrl: `${entry.base}${entry.query}`, resendWait, ...extra,
    });
  }

  function renderMessage(ctx: Context, entry: Entry, status: number, heading: string, message: string, links: Array<{ href: string; text: string }>): void {
    noStore(ctx);
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render('registration-message.njk', entry.locale, { heading, message, links });
  }

  return router;
}

function readForm(ctx: Context): RegistrationFormInput {
  return {
    lastName: bodyField(ctx, 'lastName'),
    firstName: bodyField(ctx, 'firstName'),
    middleName: bodyField(ctx, 'middleName'),
    contact: bodyField(ctx, 'contact'),
    password: bodyField(ctx, 'password'),
    passwordRepeat: bodyField(ctx, 'passwordRepeat'),
  };
}

function emptyForm(): RegistrationFormInput {
  return { lastName: '', firstName: '', middleName: '', contact: '', password: '', passwordRepeat: '' };
}

function bodyField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function setRetryAfter(ctx: Context, problem: CodeStepProblem): void {
  if (problem.retryAfterSeconds) ctx.set('Retry-After', String(problem.retryAfterSeconds));
}

function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
}
