import Router from '@koa/router';
import type { Context } from 'koa';
import type { PageDeps } from '../app.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import { requireCitizen } from '../account/account-session.ts';
import { localeOf, localUrl, renderAccountPage } from '../account/account-pages.ts';
import { displayContact } from '../account/contacts.routes.ts';
import { translator, type Locale, type Translate } from '../http/i18n.ts';
import { maskLogin } from '../notifications/templates.ts';
import { rateLimitByIp } from '../security/rate-limit.middleware.ts';
import { RATE_LIMITS } from '../security/rate-limits.ts';
import { waitText } from '../security/wait-text.ts';
import { AppError } from '../shared/app-error.ts';
import { formatDateRu, formatSnils } from '../shared/validators.ts';
import type { MergeRefusal } from './merge-rules.ts';
import { findCandidates, findActiveLink, findLiveFlow, listLinks, loadMergeSide, type Candidate } from './merge.repository.ts';
import { evaluateMerge, findCandidate, makePrimary, mergeAccounts, unlinkAccount, type MergeDeps } from './merge.service.ts';
import { hasPendingCode, proveWithCode, proveWithPassword, sendProofCode, type ProofChannel, type ProofDeps, type ProofOutcome } from './proof.service.ts';

const PAGE = '/account/accounts';
const OID = /^\d{1,18}$/;
const NOTICES = ['merged', 'unlinked'] as const;

const notFound = () => new AppError('merge.account_not_found', 404, 'Учетная запись не найдена');
const notProved = () => new AppError('merge.not_proved', 403, 'control of this account is not proved');

/**
 * «Учетные записи»: the accounts linked into this one («Сделать основным», «Отвязать») and
 * «Связать аккаунты» — candidates, the proof of control, the comparison, the link. Pages by the
 * other account's OID answer 404 «Учетная запись не найдена» for an OID that is not a candidate
 * (or not linked here), 403 before control of it is proved, 429 with Retry-After for too many tries.
 */
export function mergeRoutes(deps: PageDeps): Router {
  const router = new Router({ prefix: PAGE });
  const signedIn = requireCitizen(deps.provider, deps.db);
  const proofDeps: ProofDeps = { db: deps.db, hasher: deps.hasher, codeHasher: deps.codeHasher };
  const mergeDeps: MergeDeps = { provider: deps.provider, db: deps.db, undoDays: deps.config.mergeUndoDays };
  const request = (ctx: Context) => ({ now: deps.clock.now(), requestId: ctx.state.requestId as string | undefined });
  const body = (ctx: Context) => (ctx.request.body ?? {}) as Record<string, unknown>;
  const text = (ctx: Context, name: string) => (typeof body(ctx)[name] === 'string' ? (body(ctx)[name] as string) : '');
  const codeSendLimit = rateLimitByIp('code_send', { db: deps.db, clock: deps.clock }, {
    policy: { ...RATE_LIMITS.code_send, points: RATE_LIMITS.code_send.points * deps.config.ipRateLimitMultiplier },
    counts: (ctx) => ctx.status < 400,
  });

  // ─── The list ───

  async function renderList(ctx: Context, extra: { error?: string; status?: number } = {}) {
    const citizen = ctx.state.citizen as Citizen;
    const locale = localeOf(ctx);
    const t = translator(locale);
    const now = deps.clock.now();
    const links = await listLinks(deps.db, citizen.oid);
    const confirmed = citizen.trust_level === 'confirmed';
    const candidates = confirmed ? await findCandidates(deps.db, citizen) : [];
    const done = typeof ctx.query.done === 'string' && (NOTICES as readonly string[]).includes(ctx.query.done) ? ctx.query.done : undefined;
    renderAccountPage(ctx, deps.views, 'merge-accounts.njk', {
      active: 'accounts',
      status: extra.status,
      error: extra.error,
      notice: done ? t(`merge.notice.${done}`) : undefined,
      primary: { oid: citizen.oid, contacts: contactsOf(citizen) },
      links: links.map(({ link, alias }) => ({
        oid: alias.oid,
        contacts: contactsOf(alias),
        since: t('merge.linked.since', { date: formatDay(link.merged_at, locale), method: t(`merge.method.${link.proof_method}`) }),
        undoOpen: link.undo_until > now,
        undoUntil: formatDay(link.undo_until, locale),
      })),
      confirmed,
      level: t(`trust.${citizen.trust_level}`),
      candidates: candidates.map((c) => ({ oid: c.oid, shares: t('merge.candidate.shares', { what: c.basis.map((b) => t(`merge.candidate.basis.${b}`)).join(', ') }) })),
    });
  }

  router.get('/', signedIn, (ctx) => renderList(ctx));

  // After «Сделать основным» this browser is signed out: the page says why and where to go.
  router.get('/primary-changed', (ctx) => {
    const locale = localeOf(ctx);
    const t = translator(locale);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = deps.views.render('merge-primary-changed.njk', locale, { heading: t('merge.primary_changed.heading'), message: t('merge.primary_changed.message'), signIn: localUrl(locale, PAGE) });
  });

  // ─── Proof of control ───

  /** The candidate named in the URL, or 404: unknown, not sharing anything with this account, or an alias. */
  async function candidateOf(ctx: Context): Promise<{ candidate: Candidate; row: Citizen }> {
    const citizen = ctx.state.citizen as Citizen;
    const oid = String(ctx.params.oid);
    const candidate = OID.test(oid) ? await findCandidate(deps.db, citizen, oid) : undefined;
    const row = candidate && (await findCitizenByOid(deps.db, candidate.oid));
    if (!candidate || !row) throw notFound();
    return { candidate, row };
  }

  /** Only a confirmed account links others; otherwise the refusal says so before anything is asked. */
  async function refuseUnlessConfirmed(ctx: Context, candidate: Citizen): Promise<boolean> {
    const citizen = ctx.state.citizen as Citizen;
    if (citizen.trust_level === 'confirmed') return false;
    await renderRefusal(ctx, candidate, [{ reason: 'this_not_confirmed' }]);
    return true;
  }

  interface ProofProblems { password?: string; code?: string; send?: string; note?: string }

  async function renderProof(ctx: Context, candidate: Citizen, problems: ProofProblems = {}, options: { status?: number; retryAfter?: number; sent?: boolean } = {}) {
    const citizen = ctx.state.citizen as Citizen;
    const now = deps.clock.now();
    const flow = await findLiveFlow(deps.db, citizen.oid, candidate.oid, now);
    if (options.retryAfter !== undefined) ctx.set('Retry-After', String(options.retryAfter));
    const t = translator(localeOf(ctx));
    renderAccountPage(ctx, deps.views, 'merge-proof.njk', {
      active: 'accounts',
      status: options.status,
      notice: options.sent ? t('merge.proof.code_sent') : undefined,
      candidate: { oid: candidate.oid, phone: candidate.phone ? maskLogin(candidate.phone) : null, email: candidate.email ? maskLogin(candidate.email) : null },
      codePending: await hasPendingCode(deps.db, flow, now),
      errors: problems,
    });
  }

  router.get('/:oid/link', signedIn, async (ctx) => {
    const { row } = await candidateOf(ctx);
    if (await refuseUnlessConfirmed(ctx, row)) return;
    const flow = await findLiveFlow(deps.db, (ctx.state.citizen as Citizen).oid, row.oid, deps.clock.now());
    if (flow?.state === 'proved') return seeOther(ctx, `${PAGE}/${row.oid}/confirm`);
    await renderProof(ctx, row, {}, { sent: ctx.query.sent === '1' });
  });

  router.post('/:oid/link/password', signedIn, async (ctx) => {
    const { row } = await candidateOf(ctx);
    if (await refuseUnlessConfirmed(ctx, row)) return;
    const t = translator(localeOf(ctx));
    const password = text(ctx, 'password');
    if (!password) return renderProof(ctx, row, { password: t('merge.error.password_required') }, { status: 400 });
    const outcome = await proveWithPassword(proofDeps, { ...request(ctx), citizen: ctx.state.citizen, candidate: row, password });
    await answerProof(ctx, row, outcome, 'password');
  });

  router.post('/:oid/link/code', signedIn, codeSendLimit, async (ctx) => {
    const { row } = await candidateOf(ctx);
    if (await refuseUnlessConfirmed(ctx, row)) return;
    const channel = text(ctx, 'channel');
    if (channel !== 'phone' && channel !== 'email') return ctx.throw(400);
    const t = translator(localeOf(ctx));
    try {
      const outcome = await sendProofCode(proofDeps, { ...request(ctx), citizen: ctx.state.citizen, candidate: row, channel: channel as ProofChannel });
      if (outcome.result === 'already_proved') return seeOther(ctx, `${PAGE}/${row.oid}/confirm`);
      if (outcome.result === 'no_contact') return renderProof(ctx, row, { send: t('merge.error.no_contact') }, { status: 400 });
      seeOther(ctx, localUrl(localeOf(ctx), `${PAGE}/${row.oid}/link`, { sent: '1' }));
    } catch (error) {
      // codes.service's send limits: a pause between codes, a cap per contact per hour.
      if (!(error instanceof AppError) || error.status !== 429) throw error;
      const wait = Number(error.details?.retryAfterSeconds ?? 60);
      const key = error.code === 'code.too_many_sends' ? 'merge.error.too_many_sends' : 'merge.error.resend_too_soon';
      await renderProof(ctx, row, { send: t(key, { wait: waitText(t, wait) }) }, { status: 429, retryAfter: wait });
    }
  });

  router.post('/:oid/link/code/confirm', signedIn, async (ctx) => {
    const { row } = await candidateOf(ctx);
    if (await refuseUnlessConfirmed(ctx, row)) return;
    const code = text(ctx, 'code').trim();
    if (!code) return renderProof(ctx, row, { code: translator(localeOf(ctx))('merge.error.code_required') }, { status: 400 });
    const outcome = await proveWithCode(proofDeps, { ...request(ctx), citizen: ctx.state.citizen, candidate: row, code });
    await answerProof(ctx, row, outcome, 'code');
  });

  async function answerProof(ctx: Context, candidate: Citizen, outcome: ProofOutcome, field: 'password' | 'code') {
    const t = translator(localeOf(ctx));
    switch (outcome.result) {
      case 'proved':
        return seeOther(ctx, localUrl(localeOf(ctx), `${PAGE}/${candidate.oid}/confirm`));
      case 'throttled':
        return renderProof(ctx, candidate, { [field]: t('merge.error.throttled', { wait: waitText(t, outcome.retryAfterSeconds) }) }, { status: 429, retryAfter: outcome.retryAfterSeconds });
      case 'wrong_password':
        return renderProof(ctx, candidate, {
          password: t('merge.error.password_wrong'),
          note: outcome.waitSeconds > 0 ? t('merge.error.next_try', { wait: waitText(t, outcome.waitSeconds) }) : undefined,
        }, { status: 400 });
      case 'wrong_code':
        return renderProof(ctx, candidate, { code: t('merge.error.code_wrong', { attempts: String(outcome.attemptsLeft) }) }, { status: 400 });
      case 'code_exhausted':
        return renderProof(ctx, candidate, { code: t('merge.error.code_exhausted', { wait: waitText(t, outcome.retryAfterSeconds) }) }, { status: 429, retryAfter: outcome.retryAfterSeconds });
      case 'code_expired':
        return renderProof(ctx, candidate, { code: t('merge.error.code_expired') }, { status: 400 });
      default:
        return renderProof(ctx, candidate, { code: t('merge.error.no_code') }, { status: 400 });
    }
  }

  // ─── Comparison and the link ───

  async function renderRefusal(ctx: Context, candidate: Citizen, refusals: MergeRefusal[]) {
    const t = translator(localeOf(ctx));
    renderAccountPage(ctx, deps.views, 'merge-refused.njk', {
      active: 'accounts',
      status: 409,
      candidateOid: candidate.oid,
      refusals: refusals.map((r) => describeRefusal(t, r, candidate.oid)),
      showVerification: refusals.some((r) => r.reason === 'this_not_confirmed'),
      showPowers: refusals.some((r) => r.reason === 'powers_conflict'),
    });
  }

  /** The candidate whose control this browser's citizen proved (a flow in force), or 403. */
  async function provedCandidate(ctx: Context): Promise<Citizen> {
    const { row } = await candidateOf(ctx);
    const flow = await findLiveFlow(deps.db, (ctx.state.citizen as Citizen).oid, row.oid, deps.clock.now());
    if (flow?.state !== 'proved') throw notProved();
    return row;
  }

  router.get('/:oid/confirm', signedIn, async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const candidate = await provedCandidate(ctx);
    const refusals = await evaluateMerge(deps.db, citizen, candidate, deps.clock.now());
    if (refusals.length > 0) return renderRefusal(ctx, candidate, refusals);
    const [ours, theirs] = [await loadMergeSide(deps.db, citizen), await loadMergeSide(deps.db, candidate)];
    const t = translator(localeOf(ctx));
    renderAccountPage(ctx, deps.views, 'merge-confirm.njk', {
      active: 'accounts',
      survivorOid: citizen.oid,
      aliasOid: candidate.oid,
      undoDays: String(deps.config.mergeUndoDays),
      rows: (['last_name', 'first_name', 'middle_name', 'birth_date', 'snils', 'passport'] as const).map((field) => ({
        label: t(`merge.field.${field}`),
        ours: shown(t, field, ours),
        theirs: shown(t, field, theirs),
      })),
    });
  });

  router.post('/:oid/confirm', signedIn, async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const { row } = await candidateOf(ctx);
    const outcome = await mergeAccounts(mergeDeps, { ...request(ctx), citizenOid: citizen.oid, candidateOid: row.oid });
    switch (outcome.result) {
      case 'merged':
        return seeOther(ctx, localUrl(localeOf(ctx), PAGE, { done: 'merged' }));
      case 'refused':
        return renderRefusal(ctx, row, outcome.refusals);
      case 'not_proved':
        throw notProved();
      default:
        throw notFound();
    }
  });

  // ─── Linked accounts ───

  /** An account linked into this one, named in the URL, or 404. */
  async function linkedOf(ctx: Context): Promise<string> {
    const oid = String(ctx.params.oid);
    if (!OID.test(oid) || !(await findActiveLink(deps.db, (ctx.state.citizen as Citizen).oid, oid))) throw notFound();
    return oid;
  }

  router.post('/:oid/primary', signedIn, async (ctx) => {
    const aliasOid = await linkedOf(ctx);
    const outcome = await makePrimary(mergeDeps, { ...request(ctx), primaryOid: (ctx.state.citizen as Citizen).oid, aliasOid });
    if (outcome.result !== 'done') throw notFound();
    // The Session row is gone with the old primary's sessions; the cookie naming it goes too.
    ctx.cookies.set(deps.provider.cookieName('session'), null, { signed: true });
    seeOther(ctx, localUrl(localeOf(ctx), `${PAGE}/primary-changed`));
  });

  router.post('/:oid/unlink', signedIn, async (ctx) => {
    const aliasOid = await linkedOf(ctx);
    const outcome = await unlinkAccount(mergeDeps, { ...request(ctx), primaryOid: (ctx.state.citizen as Citizen).oid, aliasOid });
    if (outcome.result === 'not_found') throw notFound();
    if (outcome.result === 'window_over') {
      const t = translator(localeOf(ctx));
      return renderList(ctx, { status: 409, error: t('merge.window_over', { oid: aliasOid, date: formatDay(outcome.undoUntil, localeOf(ctx)) }) });
    }
    seeOther(ctx, localUrl(localeOf(ctx), PAGE, { done: 'unlinked' }));
  });

  return router;
}

function seeOther(ctx: Context, path: string): void {
  ctx.redirect(path);
  ctx.status = 303;
}

function contactsOf(citizen: Pick<Citizen, 'phone' | 'email'>): string[] {
  return [...(citizen.phone ? [displayContact('phone', citizen.phone)] : []), ...(citizen.email ? [citizen.email] : [])];
}

const DAY_FORMATS: Record<Locale, Intl.DateTimeFormat> = {
  ru: new Intl.DateTimeFormat('ru-RU', { dateStyle: 'long', timeZone: 'Europe/Moscow' }),
  en: new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'Europe/Moscow' }),
};

function formatDay(date: Date, locale: Locale): string {
  return DAY_FORMATS[locale].format(date);
}

type Side = Awaited<ReturnType<typeof loadMergeSide>>;

function shown(t: Translate, field: 'last_name' | 'first_name' | 'middle_name' | 'birth_date' | 'snils' | 'passport', side: Side): string {
  const value = { last_name: side.lastName, first_name: side.firstName, middle_name: side.middleName, birth_date: side.birthDate, snils: side.snils, passport: side.passport && `${side.passport.series} ${side.passport.number}` }[field];
  return displayValue(t, field, value);
}

function displayValue(t: Translate, field: string, value: string | null): string {
  if (value === null || value === '') return t('merge.value.none');
  if (field === 'birth_date') return formatDateRu(value);
  if (field === 'snils') return formatSnils(value);
  return value;
}

/** One refusal as the page lists it: its text, and for powers the powers by number. */
function describeRefusal(t: Translate, refusal: MergeRefusal, candidateOid: string): { key: string; text: string; items: string[] } {
  switch (refusal.reason) {
    case 'field_differs':
      return {
        key: refusal.field,
        text: t(`merge.refusal.${refusal.field}`, { ours: displayValue(t, refusal.field, refusal.ours), theirs: displayValue(t, refusal.field, refusal.theirs), oid: candidateOid }),
        items: [],
      };
    case 'powers_conflict':
      return {
        key: 'powers_conflict',
        text: t('merge.refusal.powers_conflict'),
        items: refusal.powers.map((p) => t(`merge.refusal.power.${p.kind}`, { id: p.id, principal: p.principalOid, representative: p.representativeOid })),
      };
    default:
      return { key: refusal.reason, text: t(`merge.refusal.${refusal.reason}`, { oid: candidateOid }), items: [] };
  }
}
