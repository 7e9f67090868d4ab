import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { requireCitizen } from '../account/account-session.ts';
import { errorTexts, localeOf, localUrl, renderAccountPage } from '../account/account-pages.ts';
import { translator } from '../http/i18n.ts';
import { AppError } from '../shared/app-error.ts';
import { calendarDate } from '../shared/validators.ts';
import { childFormValues, parseChildForm, typedChildValues } from './child-form.ts';
import { findChildOf, listChildrenOf, listParentLinks } from './children.repository.ts';
import { addChild, answerLinkRequest, mayAddChildren, removeChild, requestChildLink, resubmitChild, unlinkChild } from './children.service.ts';
import { childView, parentLinkView } from './family-view.ts';
import type { Child } from './family.tables.ts';

/** Notices the list shows after a redirect (`?notice=`); anything else in the query is ignored. */
const NOTICES = new Set(['added', 'resubmitted', 'removed', 'link_requested', 'no_account', 'unlinked', 'link_accepted', 'link_declined']);
/** Refusals the list explains itself (with their status), e.g. a transition a second tab already made. */
const PAGE_ERRORS = new Set([
  'family.not_editable', 'family.unlink_first', 'family.link_exists', 'family.not_verified', 'family.too_young_for_account', 'family.link_not_pending', 'family.not_linked', 'family.adult',
]);

/**
 * /account/children («Дети»): the parent's records and their registry check, adding and correcting
 * a child, the link with a 14+ child's own account; and, seen from the child's account, the
 * parents asking to link or linked. Every POST redirects back with a notice (post → redirect → get)
 * or re-renders with the reason; the page router has already checked the CSRF token.
 */
export function familyRoutes({ provider, db, views, clock }: PageDeps): Router {
  const router = new Router({ prefix: '/account/children' });
  router.use(requireCitizen(provider, db));

  const citizenOf = (ctx: Context) => ctx.state.citizen as Citizen;
  const bodyOf = (ctx: Context) => (ctx.request.body ?? {}) as Record<string, unknown>;
  const requestId = (ctx: Context) => ctx.state.requestId as string | undefined;
  const t = (ctx: Context) => translator(localeOf(ctx));

  async function renderList(ctx: Context, extra: { notice?: string; error?: string; status?: number } = {}) {
    const citizen = citizenOf(ctx);
    const [children, links] = await Promise.all([listChildrenOf(db, citizen.oid), listParentLinks(db, citizen.oid)]);
    const now = clock.now();
    const shown = children.map((child) => childView(child, now));
    renderAccountPage(ctx, views, 'family-children.njk', {
      active: 'children',
      status: extra.status,
      notice: extra.notice,
      error: extra.error,
      // Those who turned 18 are listed apart (and relying parties no longer see them).
      children: shown.filter((child) => !child.adult),
      adults: shown.filter((child) => child.adult),
      parentLinks: links.map(parentLinkView),
      canAdd: mayAddChildren(citizen),
    });
  }

  function renderForm(ctx: Context, input: { values: Record<string, string>; errors?: Record<string, string>; status?: number; child?: Child }) {
    renderAccountPage(ctx, views, 'family-child-form.njk', {
      active: 'children',
      status: input.status,
      values: input.values,
      errors: errorTexts(t(ctx), input.errors ?? {}),
      action: input.child ? `/account/children/${input.child.id}/edit` : '/account/children/new',
      editing: Boolean(input.child),
    });
  }

  /** A simplified account: why it cannot add children and how to rise (403, not a bare error). */
  const renderLevelRequired = (ctx: Context) => renderAccountPage(ctx, views, 'family-level.njk', { active: 'children', status: 403 });

  function confirmPage(ctx: Context, child: Child, kind: 'remove' | 'unlink') {
    renderAccountPage(ctx, views, 'family-confirm.njk', {
      active: 'children', kind, child: childView(child, clock.now()), action: `/account/children/${child.id}/${kind}`,
    });
  }

  function backToList(ctx: Context, notice: string) {
    ctx.redirect(localUrl(localeOf(ctx), '/account/children', { notice }));
    ctx.status = 303;
  }

  /**
   * Runs a state change. A refusal the page explains (another tab got there first) is shown on the
   * list with its status, and the result is undefined; the caller then stops.
   */
  async function attempt<T>(ctx: Context, action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      if (!(error instanceof AppError) || !PAGE_ERRORS.has(error.code)) throw error;
      await renderList(ctx, { error: t(ctx)(error.code), status: error.status });
      return undefined;
    }
  }

  async function ownChild(ctx: Context): Promise<Child> {
    const child = await findChildOf(db, citizenOf(ctx).oid, ctx.params.id);
    if (!child) throw new AppError('error.not_found', 404);
    return child;
  }

  router.get('/', async (ctx) => {
    const notice = typeof ctx.query.notice === 'string' && NOTICES.has(ctx.query.notice) ? t(ctx)(`family.notice.${ctx.query.notice}`) : undefined;
    await renderList(ctx, { notice });
  });

  // ─── Adding and correcting a child ──────────────────────────────────────────────────────────────

  router.get('/new', (ctx) => {
    if (!mayAddChildren(citizenOf(ctx))) return renderLevelRequired(ctx);
    renderForm(ctx, { values: {} });
  });

  router.post('/new', async (ctx) => {
    if (!mayAddChildren(citizenOf(ctx))) return renderLevelRequired(ctx);
    const body = bodyOf(ctx);
    const parsed = parseChildForm(body, calendarDate(clock.now()));
    if (!parsed.ok) return renderForm(ctx, { values: typedChildValues(body), errors: parsed.errors, status: 400 });
    const outcome = await addChild(db, { parentOid: citizenOf(ctx).oid, child: parsed.value, now: clock.now(), requestId: requestId(ctx) });
    if (outcome.result === 'duplicate') return renderForm(ctx, { values: typedChildValues(body), errors: { cert_number: 'family.error.cert_number.duplicate' }, status: 409 });
    backToList(ctx, 'added');
  });

  router.get('/:id/edit', async (ctx) => {
    const child = await ownChild(ctx);
    if (child.check_status !== 'not_found' && child.check_status !== 'failed') return renderList(ctx, { error: t(ctx)('family.not_editable'), status: 409 });
    renderForm(ctx, { values: childFormValues(child), child });
  });

  router.post('/:id/edit', async (ctx) => {
    const child = await ownChild(ctx);
    if (!mayAddChildren(citizenOf(ctx))) return renderLevelRequired(ctx);
    const body = bodyOf(ctx);
    const parsed = parseChildForm(body, calendarDate(clock.now()));
    if (!parsed.ok) return renderForm(ctx, { values: typedChildValues(body), errors: parsed.errors, status: 400, child });
    const outcome = await attempt(ctx, () => resubmitChild(db, { parentOid: child.parent_oid, childId: child.id, child: parsed.value, now: clock.now(), requestId: requestId(ctx) }));
    if (!outcome) return;
    if (outcome.result === 'duplicate') return renderForm(ctx, { values: typedChildValues(body), errors: { cert_number: 'family.error.cert_number.duplicate' }, status: 409, child });
    backToList(ctx, 'resubmitted');
  });

  router.get('/:id/remove', async (ctx) => {
    const child = await ownChild(ctx);
    if (child.link_state === 'linked') return renderList(ctx, { error: t(ctx)('family.unlink_first'), status: 409 });
    confirmPage(ctx, child, 'remove');
  });

  router.post('/:id/remove', async (ctx) => {
    const child = await ownChild(ctx);
    if (await attempt(ctx, () => removeChild(db, { parentOid: child.parent_oid, childId: child.id, requestId: requestId(ctx) }).then(() => true))) backToList(ctx, 'removed');
  });

  // ─── The link with a 14+ child's own account ────────────────────────────────────────────────────

  router.post('/:id/link', async (ctx) => {
    const child = await ownChild(ctx);
    const outcome = await attempt(ctx, () => requestChildLink(db, { parentOid: child.parent_oid, childId: child.id, now: clock.now(), requestId: requestId(ctx) }));
    if (outcome) backToList(ctx, outcome.result === 'requested' ? 'link_requested' : 'no_account');
  });

  // A confirmation page first: the child's account stops being shown as linked.
  router.get('/:id/unlink', async (ctx) => {
    const child = await ownChild(ctx);
    if (child.link_state !== 'linked') return renderList(ctx, { error: t(ctx)('family.not_linked'), status: 409 });
    confirmPage(ctx, child, 'unlink');
  });

  router.post('/:id/unlink', async (ctx) => {
    const child = await ownChild(ctx);
    if (await attempt(ctx, () => unlinkChild(db, { parentOid: child.parent_oid, childId: child.id, now: clock.now(), requestId: requestId(ctx) }).then(() => true))) backToList(ctx, 'unlinked');
  });

  // Seen from the child's own account: the parent's request, answered there.
  for (const [path, accept] of [['accept', true], ['decline', false]] as const) {
    router.post(`/requests/:id/${path}`, async (ctx) => {
      const answered = await attempt(ctx, () => answerLinkRequest(db, { childOid: citizenOf(ctx).oid, childId: ctx.params.id, accept, now: clock.now(), requestId: requestId(ctx) }).then(() => true));
      if (answered) backToList(ctx, accept ? 'link_accepted' : 'link_declined');
    });
  }

  return router;
}
