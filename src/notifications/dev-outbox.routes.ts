import Router from '@koa/router';
import type { PageDeps } from '../app.ts';
import { pickLocale, translator } from '../http/i18n.ts';
import { normalizeEmail, normalizePhone } from '../shared/contacts.ts';
import { listRecentMessages } from './outbox.ts';
import type { OutboxMessage } from './outbox.table.ts';
import { renderTemplate } from './templates.ts';

const LIMIT = 50;
const TIME = new Intl.DateTimeFormat('ru-RU', { dateStyle: 'short', timeStyle: 'medium', timeZone: 'Europe/Moscow' });

/**
 * /dev/outbox: the newest messages with their rendered text — where a tester reads the code sent "by
 * SMS". Only when `config.notifications.devOutbox` (never in production): otherwise the route is not
 * registered at all and the path is a plain 404. `Accept: application/json` gives the same list for
 * scripts. Never cached, never indexed.
 */
export function devOutboxRoutes(deps: PageDeps): Router {
  const router = new Router();
  if (!deps.config.notifications.devOutbox) return router;

  router.get('/dev/outbox', async (ctx) => {
    const filter = typeof ctx.query.recipient === 'string' ? ctx.query.recipient.trim() : '';
    const recipient = filter ? normalizeRecipient(filter) : undefined;
    const messages = (await listRecentMessages(deps.db, { recipient, limit: LIMIT })).map(present);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Robots-Tag', 'noindex, nofollow');

    if (ctx.accepts('html', 'json') === 'json') {
      ctx.body = { recipient: recipient ?? null, limit: LIMIT, messages };
      return;
    }
    const locale = pickLocale(ctx.query.lang);
    const t = translator(locale);
    ctx.type = 'html';
    ctx.body = deps.views.render('dev-outbox.njk', locale, {
      heading: t('dev_outbox.title'),
      filter,
      recipient,
      limit: String(LIMIT),
      lang: locale === 'ru' ? undefined : locale,
      messages: messages.map((m) => ({ ...m, time: TIME.format(new Date(m.createdAt)), lines: m.text?.split('\n') ?? [] })),
    });
  });
  return router;
}

/** What a tester types (+7 999 123-45-67, Ivanov@Example.ru) as it is stored (79991234567, ivanov@example.ru). */
function normalizeRecipient(input: string): string {
  return normalizePhone(input) ?? normalizeEmail(input) ?? input;
}

function present(message: OutboxMessage) {
  let subject: string | undefined;
  let text: string | null = null;
  let renderError: string | null = null;
  try {
    ({ subject, text } = renderTemplate(message.template, message.payload, 'ru'));
  } catch (error) {
    renderError = (error as Error).message;
  }
  return {
    id: message.id,
    createdAt: message.created_at.toISOString(),
    channel: message.channel,
    recipient: message.recipient,
    template: message.template,
    status: message.status,
    attempts: message.attempts,
    lastError: message.last_error,
    sentAt: message.sent_at?.toISOString() ?? null,
    subject: subject ?? null,
    text,
    renderError,
    // Scripts want the code alone; it is in the text anyway.
    code: typeof message.payload.code === 'string' ? message.payload.code : null,
  };
}
