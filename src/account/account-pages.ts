import type { Context } from 'koa';
import type { Citizen } from '../citizens/citizen.table.ts';
import { pickLocale, translator, type Locale, type Translate } from '../http/i18n.ts';
import type { Views } from '../http/views.ts';
import type { FieldErrors } from './identity-forms.ts';

/**
 * What the identity pages of the account share: the locale (kept across form posts as `?lang=`),
 * rendering inside the account layout, and the post → redirect → get notice.
 */

/** Notices a page may show after a redirect (`?done=<notice>`); anything else in the query is ignored. */
const NOTICES = ['saved', 'saved_simplified', 'unchanged', 'code_sent', 'contact_changed', 'contact_removed', 'change_cancelled'] as const;
export type Notice = (typeof NOTICES)[number];

export function localeOf(ctx: Context): Locale {
  return pickLocale(ctx.query.lang);
}

/** A path of ours with the page's language kept, for links, form actions and redirects. */
export function localUrl(locale: Locale, path: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams({ ...params, ...(locale === 'ru' ? {} : { lang: locale }) }).toString();
  return query ? `${path}?${query}` : path;
}

/** Field errors as texts: `profile.error.<field>.<reason>`, else the reason's generic text. */
export function errorTexts(t: Translate, errors: FieldErrors, params?: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([name, key]) => [name, textOf(t, key, params)]));
}

function textOf(t: Translate, key: string, params?: Record<string, string>): string {
  const text = t(key, params);
  if (text !== key) return text;
  const generic = `profile.error.${key.split('.').at(-1)}`;
  const fallback = t(generic, params);
  return fallback === generic ? t('profile.error.invalid') : fallback;
}

export function renderAccountPage(
  ctx: Context,
  views: Views,
  template: string,
  context: { active: string; status?: number } & Record<string, unknown>,
): void {
  const locale = localeOf(ctx);
  const t = translator(locale);
  const done = typeof ctx.query.done === 'string' && (NOTICES as readonly string[]).includes(ctx.query.done) ? ctx.query.done : undefined;
  const { status, ...rest } = context;
  ctx.status = status ?? 200;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = views.render(template, locale, {
    citizen: ctx.state.citizen as Citizen,
    csrfToken: ctx.state.csrfToken,
    notice: done ? t(`profile.notice.${done}`) : undefined,
    url: (path: string) => localUrl(locale, path),
    ...rest,
  });
}

/** After a successful POST: 303 to the page, which shows the notice (a reload does not post again). */
export function redirectWithNotice(ctx: Context, path: string, notice: Notice): void {
  ctx.redirect(localUrl(localeOf(ctx), path, { done: notice }));
  ctx.status = 303;
}
