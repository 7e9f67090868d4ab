import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { translator, type Locale } from './i18n.ts';

/**
 * Server-rendered pages. Nunjucks with autoescape on: every value is HTML-escaped unless a
 * template marks it `| safe`, which only the library-made logout form does.
 */
const VIEW_DIRS = ['./views', '../interactions/views', '../account/views', '../registration/views', '../recovery/views', '../verification/views', '../operator/views', '../notifications/views', '../security/views', '../family/views', '../organisations/views', '../acting/views', '../powers/views', '../merge/views'].map((dir) => fileURLToPath(new URL(dir, import.meta.url)));

export interface Views {
  render(template: string, locale: Locale, context?: Record<string, unknown>): string;
}

/** Templates are compiled once per process (restart to see template edits). */
export function createViews(): Views {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEW_DIRS), {
    autoescape: true,
    throwOnUndefined: false,
  });
  return {
    render(template, locale, context = {}) {
      return env.render(template, { ...context, locale, t: translator(locale) });
    },
  };
}
