import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { translator } from '../http/i18n.ts';
import { requireCitizen } from './account-session.ts';
import { errorTexts, localeOf, redirectWithNotice, renderAccountPage } from './account-pages.ts';
import { field, type FieldErrors, type FormBody } from './identity-forms.ts';
import {
  cancelContactChange, confirmContactChange, CONTACT_KINDS, findPendingContactChanges, isContactKind, removeContact, resendContactCode,
  startContactChange, type ContactDeps,
} from './contacts.service.ts';

const PAGE = '/account/contacts';

/** /account/contacts: the phone and e-mail the citizen signs in with, changed only with a code sent to the new value. */
export function contactsRoutes(deps: PageDeps): Router {
  const router = new Router({ prefix: PAGE });
  const signedIn = requireCitizen(deps.provider, deps.db);
  const contactDeps: ContactDeps = { db: deps.db, hasher: deps.hasher, codeHasher: deps.codeHasher };
  const bodyOf = (ctx: Context): FormBody => (ctx.request.body ?? {}) as FormBody;
  const request = (ctx: Context) => ({ now: deps.clock.now(), requestId: ctx.state.requestId as string | undefined });

  /** Errors are keyed `<kind>.<field>` (e.g. `phone.code`), so each sits beside its own form. */
  async function renderContacts(ctx: Context, problems?: { kind: string; errors: FieldErrors; typed?: string; params?: Record<string, string> }, status?: number) {
    const citizen = ctx.state.citizen as Citizen;
    const pending = await findPendingContactChanges(deps.db, citizen.oid, deps.clock.now());
    const t = translator(localeOf(ctx));
    const errors = problems ? Object.fromEntries(Object.entries(errorTexts(t, problems.errors, problems.params)).map(([name, text]) => [`${problems.kind}.${name}`, text])) : {};
    renderAccountPage(ctx, deps.views, 'account-contacts.njk', {
      active: 'contacts',
      status,
      contacts: CONTACT_KINDS.map((kind) => ({
        kind,
        current: citizen[kind] ? displayContact(kind, citizen[kind]) : null,
        pending: pending[kind] ? { id: pending[kind].id, value: displayContact(kind, pending[kind].newValue) } : null,
        typed: problems?.kind === kind ? problems.typed ?? '' : '',
      })),
      onlyContact: citizen.phone && citizen.email ? null : citizen.phone ? 'phone' : 'email',
      errors,
    });
  }

  router.get('/', signedIn, (ctx) => renderContacts(ctx));

  router.post('/change', signedIn, async (ctx) => {
    const body = bodyOf(ctx);
    const kind = field(body, 'kind');
    if (!isContactKind(kind)) return ctx.throw(400);
    const value = field(body, 'value');
    const outcome = await startContactChange(contactDeps, { ...request(ctx), citizen: ctx.state.citizen, kind, value, password: typeof body.password === 'string' ? body.password : '' });
    if (outcome.result === 'invalid') return renderContacts(ctx, { kind, errors: outcome.errors, typed: value }, 400);
    redirectWithNotice(ctx, PAGE, 'code_sent');
  });

  router.post('/confirm', signedIn, async (ctx) => {
    const body = bodyOf(ctx);
    const citizen = ctx.state.citizen as Citizen;
    const code = field(body, 'code');
    const kind = field(body, 'kind');
    if (code === '') {
      if (!isContactKind(kind)) return ctx.throw(400);
      return renderContacts(ctx, { kind, errors: { code: 'profile.error.code.required' } }, 400);
    }
    const outcome = await confirmContactChange(contactDeps, { ...request(ctx), oid: citizen.oid, flowId: field(body, 'flow_id'), code });
    switch (outcome.result) {
      case 'changed':
        return redirectWithNotice(ctx, PAGE, 'contact_changed');
      case 'not_found':
        return renderContacts(ctx, { kind: 'form', errors: { flow: 'profile.error.flow.not_found' } }, 400);
      case 'wrong':
        return renderContacts(ctx, { kind: outcome.kind, errors: { code: 'profile.error.code.wrong' }, params: { attempts: String(outcome.attemptsLeft) } }, 400);
      case 'taken':
        return renderContacts(ctx, { kind: outcome.kind, errors: { code: `profile.error.${outcome.kind}.taken` } }, 409);
      default:
        return renderContacts(ctx, { kind: outcome.kind, errors: { code: `profile.error.code.${outcome.result}` } }, 400);
    }
  });

  router.post('/resend', signedIn, async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const outcome = await resendContactCode(contactDeps, { ...request(ctx), oid: citizen.oid, flowId: field(bodyOf(ctx), 'flow_id') });
    if (outcome === 'not_found') return renderContacts(ctx, { kind: 'form', errors: { flow: 'profile.error.flow.not_found' } }, 400);
    redirectWithNotice(ctx, PAGE, 'code_sent');
  });

  router.post('/cancel', signedIn, async (ctx) => {
    await cancelContactChange(deps.db, { oid: (ctx.state.citizen as Citizen).oid, flowId: field(bodyOf(ctx), 'flow_id') });
    redirectWithNotice(ctx, PAGE, 'change_cancelled');
  });

  router.post('/remove', signedIn, async (ctx) => {
    const body = bodyOf(ctx);
    const kind = field(body, 'kind');
    if (!isContactKind(kind)) return ctx.throw(400);
    const outcome = await removeContact(contactDeps, { ...request(ctx), citizen: ctx.state.citizen, kind, password: typeof body.password === 'string' ? body.password : '' });
    if (outcome.result === 'invalid') {
      const errors = Object.fromEntries(Object.entries(outcome.errors).map(([name, key]) => [name === 'password' ? 'remove_password' : name, key]));
      return renderContacts(ctx, { kind, errors }, 400);
    }
    redirectWithNotice(ctx, PAGE, 'contact_removed');
  });

  return router;
}

/** +7 999 123-45-67 for phones; e-mail addresses as they are. */
export function displayContact(kind: string, value: string): string {
  const phone = /^7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(value);
  return kind === 'phone' && phone ? `+7 ${phone[1]} ${phone[2]}-${phone[3]}-${phone[4]}` : value;
}
