import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Views } from '../http/views.ts';
import { translator, type Translate } from '../http/i18n.ts';
import { AppError } from '../shared/app-error.ts';
import { calendarDate, formatDateRu } from '../shared/validators.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import { bodyField, clientOf, finish, loadInteraction, localeOf, noStore, type Interaction } from '../interactions/interaction-helpers.ts';
import {
  asksForOrganisation, choiceOf, choiceValue, hasAlternatives, listRoleOptions, parseChoice, pickOption, resolveChoice, type RoleOptions,
} from './acting.service.ts';
import { NOT_A_MEMBER, NOT_A_MEMBER_DESCRIPTION, ROLE_PROMPT } from './role-prompt.ts';
import { findChoice } from './acting.repository.ts';

export interface RoleChoiceDeps {
  provider: Provider;
  db: Db;
  clock: Clock;
  views: Views;
  form: Middleware;
}

/**
 * /interaction/:uid/role — «Как частное лицо» / «Как сотрудник организации …» / «Как
 * представитель … по доверенности». Like the login form, the page is protected by the interaction
 * itself: its cookie is signed, SameSite=Lax and scoped to /interaction/<uid>, so a cross-site POST
 * arrives without it and finds no interaction. The POST is checked against live data again (a
 * forged or stale organisation or power gets the page back with 400) and the choice goes back to
 * oidc-provider as the prompt's result; the prompt's check stores it (role-prompt.ts).
 */
export function roleChoiceRoutes(router: Router, { provider, db, clock, views, form }: RoleChoiceDeps): void {
  async function optionsFor(interaction: Interaction): Promise<{ citizenOid: string; options: RoleOptions }> {
    const citizenOid = interaction.session?.accountId;
    if (!citizenOid) throw new AppError('error.session_expired', 400);
    const frame = { citizenOid, clientId: String(interaction.params.client_id), now: clock.now() };
    return { citizenOid, options: await listRoleOptions(db, frame, asksForOrganisation(interaction.params.scope)) };
  }

  /** ESIA-007194 needs no page: the RP named an organisation the citizen does not belong to. */
  async function refuseForeignOrganisation(ctx: Context, interaction: Interaction): Promise<boolean> {
    if (!interaction.prompt.reasons.includes(NOT_A_MEMBER)) return false;
    await finish(ctx, provider, { error: 'access_denied', error_description: NOT_A_MEMBER_DESCRIPTION }, false);
    return true;
  }

  router.get('/role', async (ctx) => {
    const interaction = await loadInteraction(provider, ctx, ROLE_PROMPT);
    noStore(ctx);
    if (await refuseForeignOrganisation(ctx, interaction)) return;
    const { citizenOid, options } = await optionsFor(interaction);
    // prompt=select_account with nothing else to offer: the citizen is who they are.
    if (!hasAlternatives(options)) {
      await finish(ctx, provider, { [ROLE_PROMPT]: { kind: 'person' } }, true);
      return;
    }
    await render(ctx, interaction, citizenOid, options, { selected: 'person' });
  });

  router.post('/role', form, async (ctx) => {
    const interaction = await loadInteraction(provider, ctx, ROLE_PROMPT);
    noStore(ctx);
    if (await refuseForeignOrganisation(ctx, interaction)) return;
    const { citizenOid, options } = await optionsFor(interaction);
    const posted = bodyField(ctx, 'role');
    const choice = parseChoice(posted);
    const picked = choice && pickOption(options, choice);
    if (!picked) {
      ctx.status = 400;
      await render(ctx, interaction, citizenOid, options, { selected: posted, formError: translator(localeOf(interaction))('acting.choice_invalid') });
      return;
    }
    await finish(ctx, provider, { [ROLE_PROMPT]: choiceOf(picked) }, true);
  });

  async function render(ctx: Context, interaction: Interaction, citizenOid: string, options: RoleOptions, extra: { selected: string; formError?: string }) {
    const locale = localeOf(interaction);
    const [client, citizen] = await Promise.all([clientOf(provider, interaction), findCitizenByOid(db, citizenOid)]);
    if (!citizen) throw new AppError('error.session_expired', 400);
    ctx.type = 'html';
    ctx.body = views.render('role-choice.njk', locale, {
      uid: interaction.uid,
      clientName: client.name,
      options: describeOptions(translator(locale), [citizen.last_name, citizen.first_name, citizen.middle_name].filter(Boolean).join(' '), options),
      ...extra,
    });
  }
}

/** The radio options in the page's order: the person first, then organisations, then powers. */
function describeOptions(t: Translate, citizenName: string, options: RoleOptions): Array<{ value: string; label: string; note?: string }> {
  return [
    { value: choiceValue({ kind: 'person' }), label: t('acting.as_person'), note: t('acting.as_person_note', { name: citizenName }) },
    ...options.memberships.map(({ organisation, roles }) => ({
      value: choiceValue({ kind: 'organisation', organisationOid: organisation.oid }),
      label: t('acting.as_employee', { organisation: organisation.shortName ?? organisation.fullName }),
      note: t('acting.as_employee_note', { ogrn: organisation.ogrn, roles: roles.map((r) => t(`acting.role.${r}`)).join(', ') }),
    })),
    ...options.powers.map((power) => ({
      value: choiceValue({ kind: 'representative', powerId: power.id }),
      label: t('acting.as_representative', {
        principal: power.principal.kind === 'organisation' ? t('acting.principal_organisation', { name: power.principal.displayName }) : power.principal.displayName,
      }),
      note: t('acting.as_representative_note', { date: formatDateRu(calendarDate(power.validTo)), rights: power.rights.map((r) => t(`acting.right.${r}`)).join(', ') }),
    })),
  ];
}

/**
 * The line the consent page shows when the citizen chose, in this authorization, to sign in for an
 * organisation or a principal: consent is given knowing on whose behalf. Undefined for the person.
 */
export async function actingNotice(db: Db, clock: Clock, interaction: Interaction, t: Translate): Promise<string | undefined> {
  const citizenOid = interaction.session?.accountId;
  const sessionUid = interaction.session?.uid;
  if (!citizenOid || !sessionUid) return undefined;
  const frame = { citizenOid, clientId: String(interaction.params.client_id), now: clock.now() };
  const stored = await findChoice(db, { sessionUid, clientId: frame.clientId }, citizenOid);
  const context = stored && (await resolveChoice(db, frame, stored));
  if (context?.kind === 'organisation') {
    const { organisation } = context.membership;
    return t('acting.consent_as_employee', { organisation: organisation.shortName ?? organisation.fullName });
  }
  if (context?.kind === 'representative') return t('acting.consent_as_representative', { principal: context.power.principal.displayName });
  return undefined;
}
