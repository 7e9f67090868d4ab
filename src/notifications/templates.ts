import type { TrustLevel } from '../citizens/citizen.table.ts';

/**
 * The texts of every SMS, e-mail and letter. A message is queued with a template name and a payload;
 * the worker renders it just before sending, and /dev/outbox renders it for testers.
 *
 * Payloads are stored in `outbox_messages.payload`, so they carry only what the text needs. The one
 * secret a payload may hold is a one-time `code` (that is what the message is for); never a password,
 * a token or a document number.
 *
 * Templates and their payloads:
 * - `registration_code`   { code: string, ttlMinutes?: number }
 * - `recovery_code`       { code: string, ttlMinutes?: number } — also "если это были не вы, проигнорируйте"
 * - `login_hint`          { logins: string[] } — the account's logins; raw ones (7XXXXXXXXXX, e-mail, 11-digit
 *                          SNILS) are masked here, anything else (already masked, a label like «СНИЛС») is shown as is.
 * - `contact_change_code` { code: string, contact?: 'phone' | 'email', ttlMinutes?: number } — sent to the NEW contact
 * - `letter_code`         { code: string, fullName?: string, expiresOn?: 'YYYY-MM-DD' } — a paper letter (channel `post`)
 * - `trust_level_changed` { level: 'simplified' | 'standard' | 'confirmed', previousLevel?: same }
 * - `security_notice`     { event: SecurityEvent | string, kind?: 'phone' | 'email', at?: ISO date-time, device?: string } —
 *                          `contact_changed` and `contact_removed` take the contact's `kind`; `new_device` may name the
 *                          `device` ("Chrome, Windows, IP 203.0.113.7"); unknown events get a generic sentence
 * - `login_code`          { code: string, ttlMinutes?: number } — the SMS code of a sign-in's second step
 * - `merge_code`          { code: string, ttlMinutes?: number } — sent to the other account's contact to prove it is yours («Связать аккаунты»)
 * - `organisation_invitation` { organisation: string, role?: 'employee' | 'admin' } — to the invitee's confirmed e-mail
 * - `power_of_attorney`   { event: 'activated' | 'revoked' | 'renounced' | 'expired' | 'ended_account_deleted',
 *                          side: 'principal' | 'organisation' | 'representative', powerId: string, validTo?: 'YYYY-MM-DD' } —
 *                          a power of attorney changed; names the power by number only (details are in the account)
 * - `family_link`         { event: 'requested' | 'unlinked' } — to a child's own account (14–17): a parent asks to link it
 *                          with theirs, or ended the link; names nobody (who asks is shown in the account, «Дети»)
 */
export type TemplateLocale = 'ru';

export interface RenderedMessage {
  /** E-mail subject / letter heading; SMS ignore it. */
  subject?: string;
  text: string;
}

/** The message can never be rendered (unknown template, payload without a field it needs): do not retry. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export const SECURITY_EVENTS = {
  password_changed: 'Пароль от вашей учётной записи на Госуслугах изменён',
  password_reset: 'Пароль от вашей учётной записи на Госуслугах восстановлен',
  phone_changed: 'Номер телефона в вашей учётной записи на Госуслугах изменён',
  email_changed: 'Адрес электронной почты в вашей учётной записи на Госуслугах изменён',
  phone_removed: 'Номер телефона удалён из вашей учётной записи на Госуслугах',
  email_removed: 'Адрес электронной почты удалён из вашей учётной записи на Госуслугах',
  access_recovered: 'Доступ к вашей учётной записи на Госуслугах восстановлен',
  second_factor_enabled: 'В вашей учётной записи на Госуслугах включён вход с подтверждением',
  second_factor_disabled: 'В вашей учётной записи на Госуслугах отключён вход с подтверждением',
  recovery_codes_regenerated: 'Для вашей учётной записи на Госуслугах созданы новые резервные коды, прежние больше не действуют',
  recovery_code_used: 'Для входа в вашу учётную запись на Госуслугах использован резервный код',
  account_locked: 'Вход в вашу учётную запись на Госуслугах временно заблокирован после нескольких неверных попыток ввода пароля',
  new_device: 'Выполнен вход в вашу учётную запись на Госуслугах с нового устройства',
  accounts_linked: 'Ваша учётная запись на Госуслугах связана с другой вашей учётной записью',
  accounts_unlinked: 'Ваша учётная запись на Госуслугах отвязана от другой вашей учётной записи',
  primary_account_changed: 'Основная учётная запись среди связанных ваших учётных записей на Госуслугах изменена',
} as const;
export type SecurityEvent = keyof typeof SECURITY_EVENTS;

/** The power_of_attorney notice per event and side; `{id}` is the power's number, `{until}` its last day. */
const POWER_EVENTS: Record<string, Record<'principal' | 'organisation' | 'representative', string>> = {
  activated: {
    principal: 'Вы выдали доверенность №{id}, она действует{until}. Если вы этого не делали, отзовите её и смените пароль от Госуслуг.',
    organisation: 'Доверенность №{id} от имени организации подписана и действует{until}.',
    representative: 'Вам выдана доверенность №{id}, она действует{until}.',
  },
  revoked: {
    principal: 'Доверенность №{id} отозвана.',
    organisation: 'Доверенность №{id} от имени организации отозвана.',
    representative: 'Доверенность №{id}, выданная вам, отозвана.',
  },
  renounced: {
    principal: 'Представитель отказался от доверенности №{id}.',
    organisation: 'Представитель отказался от доверенности №{id}, выданной организацией.',
    representative: 'Вы отказались от доверенности №{id}.',
  },
  expired: {
    principal: 'Срок действия доверенности №{id} истёк.',
    organisation: 'Срок действия доверенности №{id} от имени организации истёк.',
    representative: 'Срок действия выданной вам доверенности №{id} истёк.',
  },
  // Said the same to every side: whose account went is not the other side's data.
  ended_account_deleted: {
    principal: 'Доверенность №{id} прекращена в связи с удалением учётной записи.',
    organisation: 'Доверенность №{id} от имени организации прекращена в связи с удалением учётной записи.',
    representative: 'Доверенность №{id}, выданная вам, прекращена в связи с удалением учётной записи.',
  },
};

/** The family_link notice per event: the child's own account hears what a parent did with the link. */
const FAMILY_LINK_EVENTS: Record<string, RenderedMessage> = {
  requested: {
    subject: 'Запрос на объединение учётных записей',
    text: 'Родитель просит объединить ваш аккаунт с родительским. Ответьте в личном кабинете: «Дети». Если вы не ждали запроса, отклоните его.',
  },
  unlinked: {
    subject: 'Объединение учётных записей отменено',
    text: 'Родитель отменил объединение вашего аккаунта с родительским.',
  },
};

const TRUST_LABELS: Record<TrustLevel, string> = { simplified: 'Упрощённая', standard: 'Стандартная', confirmed: 'Подтверждённая' };

type Payload = Record<string, unknown>;
type Template = (payload: Payload, template: string) => RenderedMessage;

const DONT_SHARE = 'Никому не сообщайте его.';
const NOT_YOU_IGNORE = 'Если это были не вы, проигнорируйте это сообщение.';

const TEMPLATES: Record<string, Template> = {
  registration_code: (p, name) => ({
    subject: 'Код подтверждения регистрации',
    text: join(`Код для регистрации на Госуслугах: ${code(p, name)}.`, DONT_SHARE, ttl(p)),
  }),
  login_code: (p, name) => ({
    subject: 'Код для входа',
    text: join(`Код для входа на Госуслуги: ${code(p, name)}.`, DONT_SHARE, ttl(p), 'Если вы не входили, смените пароль.'),
  }),
  merge_code: (p, name) => ({
    subject: 'Код для связывания учётных записей',
    text: join(`Код для связывания этой учётной записи на Госуслугах с другой: ${code(p, name)}.`, DONT_SHARE, ttl(p), 'Если вы не связывали учётные записи, смените пароль.'),
  }),
  recovery_code: (p, name) => ({
    subject: 'Код для восстановления доступа',
    text: join(`Код для восстановления доступа к Госуслугам: ${code(p, name)}.`, DONT_SHARE, ttl(p), NOT_YOU_IGNORE),
  }),
  login_hint: (p, name) => {
    const logins = p.logins;
    if (!Array.isArray(logins) || logins.length === 0 || !logins.every((l) => typeof l === 'string' && l !== '')) {
      throw new TemplateError(`template "${name}" needs payload.logins: a non-empty list of strings`);
    }
    return {
      subject: 'Ваши логины на Госуслугах',
      text: join(`Для входа на Госуслуги используйте: ${logins.map((l) => maskLogin(l as string)).join(', ')}.`, 'Если вы не запрашивали напоминание, проигнорируйте это сообщение.'),
    };
  },
  contact_change_code: (p, name) => {
    const what = p.contact === 'phone' ? 'нового номера телефона' : p.contact === 'email' ? 'нового адреса электронной почты' : 'нового контакта';
    return {
      subject: 'Код подтверждения нового контакта',
      text: join(`Код для подтверждения ${what} на Госуслугах: ${code(p, name)}.`, DONT_SHARE, ttl(p), NOT_YOU_IGNORE),
    };
  },
  letter_code: (p, name) => {
    const fullName = typeof p.fullName === 'string' && p.fullName.trim() ? p.fullName.trim() : undefined;
    const until = typeof p.expiresOn === 'string' ? formatDate(p.expiresOn) : undefined;
    return {
      subject: 'Код подтверждения личности',
      text: [
        fullName ? `${fullName}, здравствуйте!` : 'Здравствуйте!',
        '',
        'Вы заказали код подтверждения личности для учётной записи на Госуслугах.',
        `Код подтверждения: ${code(p, name)}`,
        '',
        'Введите его в личном кабинете на Госуслугах в разделе «Подтверждение» — после этого ваша учётная запись станет подтверждённой.',
        ...(until ? [`Код действует до ${until}`] : []), // the long date ends with "г."
        'Никому не сообщайте этот код. Если вы не заказывали это письмо, смените пароль от Госуслуг.',
      ].join('\n'),
    };
  },
  trust_level_changed: (p, name) => {
    const level = trustLevel(p.level);
    if (!level) throw new TemplateError(`template "${name}" needs payload.level: simplified, standard or confirmed`);
    const previous = trustLevel(p.previousLevel);
    return {
      subject: 'Уровень учётной записи изменён',
      text: join(
        previous
          ? `Уровень вашей учётной записи на Госуслугах изменён: «${TRUST_LABELS[previous]}» → «${TRUST_LABELS[level]}».`
          : `Уровень вашей учётной записи на Госуслугах изменён на «${TRUST_LABELS[level]}».`,
        'Если вы не ожидали этого изменения, смените пароль от Госуслуг.',
      ),
    };
  },
  power_of_attorney: (p, name) => {
    const id = typeof p.powerId === 'string' && /^\d{1,18}$/.test(p.powerId) ? p.powerId : undefined;
    const side = p.side === 'principal' || p.side === 'organisation' || p.side === 'representative' ? p.side : undefined;
    const texts = typeof p.event === 'string' && Object.hasOwn(POWER_EVENTS, p.event) ? POWER_EVENTS[p.event] : undefined;
    if (!id || !side || !texts) throw new TemplateError(`template "${name}" needs payload.powerId, payload.side and a known payload.event`);
    const until = typeof p.validTo === 'string' ? formatDate(p.validTo) : undefined;
    return {
      subject: `Доверенность №${id}`,
      text: join(texts[side].replace('{id}', id).replace('{until}', until ? ` по ${until} включительно` : ''), 'Подробности — в личном кабинете Госуслуг, раздел «Доверенности».'),
    };
  },
  family_link: (p, name) => {
    if (typeof p.event !== 'string' || !Object.hasOwn(FAMILY_LINK_EVENTS, p.event)) throw new TemplateError(`template "${name}" needs payload.event: requested or unlinked`);
    return { ...FAMILY_LINK_EVENTS[p.event] };
  },
  security_notice: (p) => {
    const event = securityEvent(p);
    const sentence = event ? SECURITY_EVENTS[event] : 'Изменены настройки безопасности вашей учётной записи на Госуслугах';
    const at = typeof p.at === 'string' ? formatDateTime(p.at) : undefined;
    const device = typeof p.device === 'string' && p.device.trim() ? `Устройство: ${p.device.trim().slice(0, 120)}.` : '';
    return {
      subject: 'Уведомление о безопасности',
      text: join(`${sentence}${at ? ` ${at}` : ''}.`, device, 'Если это были не вы, восстановите доступ к Госуслугам и смените пароль.'),
    };
  },
  organisation_invitation: (p, name) => {
    if (typeof p.organisation !== 'string' || p.organisation.trim() === '') throw new TemplateError(`template "${name}" needs payload.organisation (a name)`);
    const as = p.role === 'admin' ? ' администратором' : p.role === 'employee' ? ' сотрудником' : '';
    return {
      subject: 'Приглашение в организацию',
      text: join(
        `Вас пригласили присоединиться${as} к организации ${p.organisation.trim().slice(0, 200)} на Госуслугах.`,
        'Принять или отклонить приглашение можно в личном кабинете, в разделе «Организации». Приглашение действует 14 дней.',
        'Если вы не ждали приглашения, просто не отвечайте на него.',
      ),
    };
  },
};

export const TEMPLATE_NAMES = Object.keys(TEMPLATES);

/** Renders a queued message; throws TemplateError when it never can be. */
export function renderTemplate(template: string, payload: Record<string, unknown>, _locale: TemplateLocale = 'ru'): RenderedMessage {
  if (!Object.hasOwn(TEMPLATES, template)) throw new TemplateError(`unknown template "${template}"`);
  return TEMPLATES[template](payload ?? {}, template);
}

/** Shows enough of a raw login to recognise it, not enough to use it: +7 999 ***-**-67, i***@example.ru, ***-***-*** 01. */
export function maskLogin(login: string): string {
  if (login.includes('*')) return login;
  if (/^7\d{10}$/.test(login)) return `+7 ${login.slice(1, 4)} ***-**-${login.slice(9)}`;
  const at = login.indexOf('@');
  if (at > 0) return `${login[0]}***${login.slice(at)}`;
  if (/^\d{11}$/.test(login)) return `***-***-*** ${login.slice(9)}`;
  return login;
}

function securityEvent(payload: Payload): SecurityEvent | undefined {
  let event = payload.event;
  // Contact events name the contact's kind separately: { event: 'contact_changed', kind: 'phone' }.
  if ((event === 'contact_changed' || event === 'contact_removed') && (payload.kind === 'phone' || payload.kind === 'email')) {
    event = `${payload.kind}_${event === 'contact_changed' ? 'changed' : 'removed'}`;
  }
  return typeof event === 'string' && Object.hasOwn(SECURITY_EVENTS, event) ? (event as SecurityEvent) : undefined;
}

function code(payload: Payload, template: string): string {
  const value = payload.code;
  if (typeof value !== 'string' || !/^[\p{L}\p{N} -]{1,64}$/u.test(value)) throw new TemplateError(`template "${template}" needs payload.code (a string)`);
  return value;
}

function ttl(payload: Payload): string {
  const minutes = payload.ttlMinutes;
  return typeof minutes === 'number' && Number.isInteger(minutes) && minutes > 0 ? `Код действует ${minutes} мин.` : '';
}

function trustLevel(value: unknown): TrustLevel | undefined {
  return typeof value === 'string' && Object.hasOwn(TRUST_LABELS, value) ? (value as TrustLevel) : undefined;
}

function join(...sentences: string[]): string {
  return sentences.filter(Boolean).join(' ');
}

// Citizens read times in Moscow time, whatever the server's zone.
const DATE = new Intl.DateTimeFormat('ru-RU', { dateStyle: 'long', timeZone: 'UTC' });
const DATE_TIME = new Intl.DateTimeFormat('ru-RU', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Moscow' });

function formatDate(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? undefined : DATE.format(date);
}

function formatDateTime(value: string): string | undefined {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : `${DATE_TIME.format(date)} (МСК)`;
}
