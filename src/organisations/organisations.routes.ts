import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { requireCitizen } from '../account/account-session.ts';
import { localeOf, localUrl, renderAccountPage } from '../account/account-pages.ts';
import { translator, type Translate } from '../http/i18n.ts';
import { AppError } from '../shared/app-error.ts';
import { formatSnils } from '../shared/validators.ts';
import { mockBusinessRegistry, type BusinessRegistry } from './business-registry.ts';
import { findMembership, isOid, listMemberships, type Membership } from './memberships.ts';
import { addOrganisation, mayAddOrganisation, type AddOrganisationField } from './organisations.service.ts';
import { answerInvitation, cancelInvitation, inviteMember, listPendingInvitations, listReceivedInvitations, type InviteField } from './invitations.service.ts';
import { changeAdmin, listMembers, managesMembers, removeMember, type Member } from './members.service.ts';
import type { OrgRole } from './organisations.tables.ts';

/** Notices a page shows after a redirect (`?done=`); anything else in the query is ignored. */
const NOTICES = ['added', 'accepted', 'declined', 'invited', 'cancelled', 'removed', 'left', 'admin_changed'] as const;
type Notice = (typeof NOTICES)[number];

const LIST_PATH = '/account/organisations';

/**
 * «Организации» in the account: the citizen's organisations and invitations, adding an organisation
 * (checked against the state register), and each organisation's page for its members (404 to anyone
 * else): inviting, withdrawing invitations, removing employees, «Сменить администратора», leaving.
 * Every form posts, then redirects to a page that shows what happened (post → redirect → get);
 * a form with mistakes comes back (400) with the texts beside the fields and what was typed.
 */
export function organisationsRoutes({ provider, db, views, clock }: PageDeps, registry: BusinessRegistry = mockBusinessRegistry()): Router {
  const router = new Router({ prefix: LIST_PATH });
  router.use(requireCitizen(provider, db));
  const citizenOf = (ctx: Context) => ctx.state.citizen as Citizen;

  async function renderList(ctx: Context, extra: { status?: number; values?: Record<string, string>; errors?: Record<string, string>; refusal?: string; refusalCode?: string; pageError?: string } = {}) {
    const citizen = citizenOf(ctx);
    const t = translator(localeOf(ctx));
    const [memberships, invitations] = await Promise.all([listMemberships(db, citizen.oid), listReceivedInvitations(db, citizen, clock.now())]);
    renderAccountPage(ctx, views, 'organisations-list.njk', {
      active: 'organisations',
      status: extra.status,
      notice: noticeText(ctx, t),
      memberships: memberships.map((m) => presentMembership(m, t)),
      invitations: invitations.map((i) => ({ id: i.id, name: i.organisation.shortName ?? i.organisation.fullName, roles: roleNames(i.roles, t), until: dateText(i.expiresAt) })),
      mayAdd: mayAddOrganisation(citizen),
      values: extra.values ?? {},
      errors: extra.errors ?? {},
      refusal: extra.refusal,
      refusalCode: extra.refusalCode,
      pageError: extra.pageError,
    });
  }

  router.get('/', async (ctx) => renderList(ctx));

  router.post('/', async (ctx) => {
    const citizen = citizenOf(ctx);
    const t = translator(localeOf(ctx));
    const body = formOf(ctx);
    const values = { kind: body.kind ?? '', inn: body.inn ?? '', ogrn: body.ogrn ?? '' };
    const outcome = await addOrganisation(db, registry, { citizen, ...values, now: clock.now(), requestId: ctx.state.requestId });
    switch (outcome.result) {
      case 'added':
        return redirectWith(ctx, `${LIST_PATH}/${outcome.organisationOid}`, 'added');
      case 'not_confirmed':
        return renderList(ctx, { status: 403, values });
      case 'invalid': {
        const errors: Record<string, string> = {};
        for (const [field, reason] of Object.entries(outcome.errors)) errors[field] = fieldError(t, field as AddOrganisationField, reason, values.kind);
        return renderList(ctx, { status: 400, values, errors });
      }
      case 'refused':
        return renderList(ctx, { status: outcome.reason === 'already_registered' ? 409 : 422, values, refusal: t(`org.refused.${outcome.reason}`), refusalCode: outcome.reason });
    }
  });

  for (const answer of ['accept', 'decline'] as const) {
    router.post(`/invitations/:id/${answer}`, async (ctx) => {
      const outcome = await answerInvitation(db, { citizen: citizenOf(ctx), invitationId: ctx.params.id, answer, now: clock.now(), requestId: ctx.state.requestId });
      const t = translator(localeOf(ctx));
      switch (outcome.result) {
        case 'accepted':
          return redirectWith(ctx, `${LIST_PATH}/${outcome.organisationOid}`, 'accepted');
        case 'declined':
          return redirectWith(ctx, LIST_PATH, 'declined');
        case 'not_found':
          throw new AppError('error.not_found', 404);
        case 'expired':
          return renderList(ctx, { status: 409, pageError: t('org.answer.expired') });
        case 'already_decided':
          return renderList(ctx, { status: 409, pageError: t(`org.answer.${outcome.state}`) });
      }
    });
  }

  // ─── One organisation's page: members only ───

  /** The signed-in citizen's membership of the organisation in the URL; anyone else gets 404 (as for an OID that does not exist). */
  async function membershipOf(ctx: Context): Promise<Membership> {
    const oid = ctx.params.orgOid;
    const membership = isOid(oid) ? await findMembership(db, citizenOf(ctx).oid, oid) : undefined;
    if (!membership) throw new AppError('error.not_found', 404);
    return membership;
  }

  async function renderOrganisation(ctx: Context, membership: Membership, extra: { status?: number; values?: Record<string, string>; errors?: Record<string, string>; pageError?: string } = {}) {
    const citizen = citizenOf(ctx);
    const t = translator(localeOf(ctx));
    const { organisation, roles } = membership;
    const manages = managesMembers(roles);
    const isChief = roles.includes('chief');
    const [members, pending] = await Promise.all([listMembers(db, organisation.oid), manages ? listPendingInvitations(db, organisation.oid, clock.now()) : []]);
    const named = (m: Member) => ({ citizenOid: m.citizenOid, name: [m.lastName, m.firstName, m.middleName].filter(Boolean).join(' ') });
    renderAccountPage(ctx, views, 'organisation-page.njk', {
      active: 'organisations',
      status: extra.status,
      notice: noticeText(ctx, t),
      organisation,
      manages,
      isChief,
      mayLeave: !isChief,
      members: members.map((m) => ({
        ...named(m),
        isYou: m.citizenOid === citizen.oid,
        roles: roleNames(m.roles, t),
        roleCodes: m.roles.join(' '),
        since: dateText(m.joinedAt),
        removable: m.citizenOid !== citizen.oid && mayRemove(roles, m.roles),
      })),
      pending: pending.map((i) => ({
        id: i.id,
        invitee: i.invitee.kind === 'snils' ? t('org.pending.snils', { value: formatSnils(i.invitee.value) }) : i.invitee.value,
        roles: roleNames(i.roles, t),
        until: dateText(i.expiresAt),
        cancellable: isChief || !i.roles.includes('admin'),
      })),
      invitableRoles: isChief ? ['employee', 'admin'] : ['employee'],
      admins: members.filter((m) => m.roles.includes('admin')).map(named),
      candidates: members.filter((m) => !m.roles.includes('admin') && !m.roles.includes('chief')).map(named),
      values: extra.values ?? {},
      errors: extra.errors ?? {},
      pageError: extra.pageError,
    });
  }

  router.get('/:orgOid', async (ctx) => renderOrganisation(ctx, await membershipOf(ctx)));

  router.post('/:orgOid/invitations', async (ctx) => {
    const membership = await membershipOf(ctx);
    const t = translator(localeOf(ctx));
    const body = formOf(ctx);
    const values = { invitee: body.invitee ?? '', role: body.role ?? '' };
    const outcome = await inviteMember(db, {
      actor: citizenOf(ctx), organisationOid: membership.organisation.oid, invitee: values.invitee, role: values.role, now: clock.now(), requestId: ctx.state.requestId,
    });
    switch (outcome.result) {
      case 'invited':
        return redirectWith(ctx, `${LIST_PATH}/${membership.organisation.oid}`, 'invited');
      case 'forbidden':
        throw new AppError('org.forbidden', 403);
      case 'invalid': {
        const errors: Record<string, string> = {};
        for (const [field, reason] of Object.entries(outcome.errors)) errors[field] = fieldError(t, field as InviteField, reason);
        return renderOrganisation(ctx, membership, { status: 400, values, errors });
      }
      case 'rate_limited':
        ctx.set('Retry-After', String(outcome.retryAfterSeconds));
        return renderOrganisation(ctx, membership, { status: 429, values, pageError: t('error.rate_limited', { minutes: String(Math.max(1, Math.ceil(outcome.retryAfterSeconds / 60))) }) });
    }
  });

  router.post('/:orgOid/invitations/:id/cancel', async (ctx) => {
    const membership = await membershipOf(ctx);
    const outcome = await cancelInvitation(db, { actorOid: citizenOf(ctx).oid, organisationOid: membership.organisation.oid, invitationId: ctx.params.id, now: clock.now(), requestId: ctx.state.requestId });
    switch (outcome.result) {
      case 'cancelled':
        return redirectWith(ctx, `${LIST_PATH}/${membership.organisation.oid}`, 'cancelled');
      case 'forbidden':
        throw new AppError('org.forbidden', 403);
      case 'not_found':
        throw new AppError('error.not_found', 404);
      case 'expired':
        return renderOrganisation(ctx, membership, { status: 409, pageError: translator(localeOf(ctx))('org.cancel.expired') });
      case 'already_decided':
        return renderOrganisation(ctx, membership, { status: 409, pageError: translator(localeOf(ctx))(`org.cancel.${outcome.state}`) });
    }
  });

  async function remove(ctx: Context, memberOid: string) {
    const membership = await membershipOf(ctx);
    const citizen = citizenOf(ctx);
    if (!isOid(memberOid)) throw new AppError('error.not_found', 404);
    const outcome = await removeMember(db, { actorOid: citizen.oid, organisationOid: membership.organisation.oid, memberOid, requestId: ctx.state.requestId });
    switch (outcome.result) {
      case 'removed':
        return outcome.left ? redirectWith(ctx, LIST_PATH, 'left') : redirectWith(ctx, `${LIST_PATH}/${membership.organisation.oid}`, 'removed');
      case 'forbidden':
        throw new AppError('org.forbidden', 403);
      case 'not_found':
        throw new AppError('error.not_found', 404);
      case 'refused':
        return renderOrganisation(ctx, membership, { status: 409, pageError: translator(localeOf(ctx))(`org.refused.${outcome.reason}`) });
    }
  }

  router.post('/:orgOid/members/:memberOid/remove', async (ctx) => remove(ctx, ctx.params.memberOid));
  router.post('/:orgOid/leave', async (ctx) => remove(ctx, citizenOf(ctx).oid));

  router.post('/:orgOid/admin', async (ctx) => {
    const membership = await membershipOf(ctx);
    const body = formOf(ctx);
    const from = body.from ? body.from : null;
    const to = body.to ?? '';
    if ((from !== null && !isOid(from)) || !isOid(to)) {
      return renderOrganisation(ctx, membership, { status: 400, pageError: translator(localeOf(ctx))('org.refused.not_member') });
    }
    const outcome = await changeAdmin(db, { actorOid: citizenOf(ctx).oid, organisationOid: membership.organisation.oid, fromOid: from, toOid: to, requestId: ctx.state.requestId });
    switch (outcome.result) {
      case 'changed':
        return redirectWith(ctx, `${LIST_PATH}/${membership.organisation.oid}`, 'admin_changed');
      case 'forbidden':
        throw new AppError('org.forbidden', 403);
      case 'refused':
        return renderOrganisation(ctx, membership, { status: 409, pageError: translator(localeOf(ctx))(`org.refused.${outcome.reason}`) });
    }
  });

  return router;
}

/** Whom someone with `actorRoles` may remove: the chief anyone but the chief; an admin employees only. */
function mayRemove(actorRoles: readonly OrgRole[], memberRoles: readonly OrgRole[]): boolean {
  if (memberRoles.includes('chief')) return false;
  if (actorRoles.includes('chief')) return true;
  return actorRoles.includes('admin') && !memberRoles.includes('admin');
}

function presentMembership(m: Membership, t: Translate) {
  const o = m.organisation;
  return { oid: o.oid, kind: o.kind, name: o.shortName ?? o.fullName, inn: o.inn, ogrn: o.ogrn, roles: roleNames(m.roles, t), roleCodes: m.roles.join(' ') };
}

function roleNames(roles: readonly string[], t: Translate): string {
  return roles.map((role) => t(`org.role.${role}`)).join(', ');
}

/** `org.error.<field>.<reason>.<kind>` (length and format depend on the kind), else without the kind, else generic. */
function fieldError(t: Translate, field: string, reason: string, kind?: string): string {
  for (const key of [kind ? `org.error.${field}.${reason}.${kind}` : undefined, `org.error.${field}.${reason}`]) {
    if (key && t(key) !== key) return t(key);
  }
  return t('org.error.invalid');
}

function formOf(ctx: Context): Record<string, string | undefined> {
  const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, typeof value === 'string' ? value : undefined]));
}

function noticeText(ctx: Context, t: Translate): string | undefined {
  const done = ctx.query.done;
  return typeof done === 'string' && (NOTICES as readonly string[]).includes(done) ? t(`org.notice.${done}`) : undefined;
}

function redirectWith(ctx: Context, path: string, notice: Notice): void {
  ctx.redirect(localUrl(localeOf(ctx), path, { done: notice }));
  ctx.status = 303;
}

// Citizens read dates in Moscow time, whatever the server's zone.
const DATE = new Intl.DateTimeFormat('ru-RU', { timeZone: 'Europe/Moscow' });
function dateText(date: Date): string {
  return DATE.format(date);
}
