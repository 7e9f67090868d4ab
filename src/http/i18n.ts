/**
 * Page texts. Russian first; `ui_locales=en` (OIDC) or `?lang=en` switches to English.
 * Keys are the same stable codes errors carry, so an AppError's code is also its message key.
 */
import { AREA_MESSAGES } from './messages.ts';

export const LOCALES = ['ru', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

const ru = {
  'app.title': 'Госуслуги — единая учётная запись',
  'app.brand': 'ЕСИА',
  'login.title': 'Вход',
  'login.subtitle': 'для продолжения в «{client}»',
  'login.login': 'Телефон, почта или СНИЛС',
  'login.login_hint': 'Например, +7 999 123-45-67, name@example.ru или 123-456-789 01',
  'login.password': 'Пароль',
  'login.submit': 'Войти',
  'login.cancel': 'Отмена',
  'login.register': 'Зарегистрироваться',
  'login.forgot_password': 'Восстановить пароль',
  'login.forgot_login': 'Забыли логин?',
  'login.invalid_credentials': 'Неверный логин или пароль',
  'login.login_required': 'Введите телефон, электронную почту или СНИЛС',
  'login.password_required': 'Введите пароль',
  'consent.title': 'Предоставление прав доступа',
  'consent.intro': '«{client}» запрашивает доступ к следующим данным:',
  'consent.agree': 'Согласен на передачу этих данных в «{client}»',
  'consent.confirm': 'Подтвердить',
  'consent.deny': 'Отказать',
  'consent.agree_required': 'Отметьте «Согласен», чтобы передать данные, или нажмите «Отказать».',
  'scope.openid': 'Идентификатор учётной записи и её уровень',
  'scope.profile': 'Фамилия, имя, отчество, дата рождения и пол',
  'scope.fullname': 'Фамилия, имя и отчество',
  'scope.birthdate': 'Дата рождения',
  'scope.gender': 'Пол',
  'scope.birthplace': 'Место рождения',
  'scope.snils': 'СНИЛС',
  'scope.inn': 'ИНН',
  'scope.id_doc': 'Паспорт гражданина РФ',
  'scope.email': 'Адрес электронной почты',
  'scope.phone': 'Номер мобильного телефона',
  'scope.mobile': 'Номер мобильного телефона',
  'scope.contacts': 'Контакты: телефон и электронная почта',
  'scope.addresses': 'Адреса регистрации и проживания',
  'scope.address': 'Адрес регистрации',
  'scope.offline_access': 'Доступ к данным, когда вы не в системе',
  'trust_level.title': 'Недостаточный уровень учётной записи',
  'trust_level.explain': '«{client}» принимает только учётные записи с уровнем «{required}» или выше.',
  'trust_level.yours': 'Уровень вашей учётной записи:',
  'trust_level.how': 'Как повысить уровень',
  'trust_level.back': 'Вернуться',
  'logout.title': 'Выход',
  'logout.question': 'Выйти из учётной записи на всех сайтах, где вы вошли через Госуслуги?',
  'logout.yes': 'Выйти',
  'logout.no': 'Остаться',
  'logout.done_title': 'Вы вышли',
  'logout.done': 'Вы вышли из учётной записи.',
  'logout.done_client': 'Вы вышли из учётной записи и из «{client}».',
  'error.title': 'Ошибка',
  'error.oauth': 'Запрос на вход не может быть выполнен',
  'error.not_found': 'Страница не найдена',
  'error.bad_request': 'Неверный запрос',
  'error.forbidden': 'Доступ запрещён',
  'error.csrf': 'Форма устарела. Обновите страницу и отправьте её ещё раз.',
  'error.rate_limited': 'Слишком много попыток. Повторите через {minutes} мин.',
  'error.too_many_requests': 'Слишком много попыток. Повторите позже.',
  'error.internal': 'Что-то пошло не так. Мы уже разбираемся.',
  'error.unavailable': 'Сервис временно недоступен. Повторите через несколько секунд.',
  'error.session_expired': 'Время на вход истекло. Вернитесь на сайт и начните вход заново.',
  'error.request_id': 'Код запроса',
  'error.back': 'Вернуться на сайт',
} as const;

export type MessageKey = keyof typeof ru;

const en: Record<MessageKey, string> = {
  'app.title': 'Gosuslugi — unified identity',
  'app.brand': 'ESIA',
  'login.title': 'Sign in',
  'login.subtitle': 'to continue to “{client}”',
  'login.login': 'Phone, e-mail or SNILS',
  'login.login_hint': 'For example, +7 999 123-45-67, name@example.com or 123-456-789 01',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.cancel': 'Cancel',
  'login.register': 'Create an account',
  'login.forgot_password': 'Forgot your password?',
  'login.forgot_login': 'Forgot your login?',
  'login.invalid_credentials': 'Incorrect login or password',
  'login.login_required': 'Enter your phone, e-mail or SNILS',
  'login.password_required': 'Enter your password',
  'consent.title': 'Grant access',
  'consent.intro': '“{client}” asks for access to:',
  'consent.agree': 'I agree to share this data with “{client}”',
  'consent.confirm': 'Confirm',
  'consent.deny': 'Deny',
  'consent.agree_required': 'Tick “I agree” to share the data, or press “Deny”.',
  'scope.openid': 'Your account identifier and its level',
  'scope.profile': 'Full name, birth date and gender',
  'scope.fullname': 'Full name',
  'scope.birthdate': 'Birth date',
  'scope.gender': 'Gender',
  'scope.birthplace': 'Birthplace',
  'scope.snils': 'SNILS (insurance number)',
  'scope.inn': 'INN (taxpayer number)',
  'scope.id_doc': 'Russian passport',
  'scope.email': 'E-mail address',
  'scope.phone': 'Mobile phone number',
  'scope.mobile': 'Mobile phone number',
  'scope.contacts': 'Contacts: phone and e-mail',
  'scope.addresses': 'Registration and residence addresses',
  'scope.address': 'Registration address',
  'scope.offline_access': 'Access to your data while you are away',
  'trust_level.title': 'Your account level is not enough',
  'trust_level.explain': '“{client}” accepts only accounts of the “{required}” level or higher.',
  'trust_level.yours': 'Your account level:',
  'trust_level.how': 'How to raise it',
  'trust_level.back': 'Go back',
  'logout.title': 'Sign out',
  'logout.question': 'Sign out of every site you entered with Gosuslugi?',
  'logout.yes': 'Sign out',
  'logout.no': 'Stay signed in',
  'logout.done_title': 'Signed out',
  'logout.done': 'You have signed out.',
  'logout.done_client': 'You have signed out, also from “{client}”.',
  'error.title': 'Error',
  'error.oauth': 'The sign-in request cannot be completed',
  'error.not_found': 'Page not found',
  'error.bad_request': 'Bad request',
  'error.forbidden': 'Access denied',
  'error.csrf': 'The form has expired. Reload the page and submit it again.',
  'error.rate_limited': 'Too many attempts. Try again in {minutes} min.',
  'error.too_many_requests': 'Too many attempts. Try again later.',
  'error.internal': 'Something went wrong. We are looking into it.',
  'error.unavailable': 'The service is temporarily unavailable. Try again in a few seconds.',
  'error.session_expired': 'The sign-in has timed out. Go back to the site and start again.',
  'error.request_id': 'Request id',
  'error.back': 'Back to the site',
};

/** Each area keeps its own texts in `<area>/messages.ts`; they are merged here once. */
export interface MessageBundle {
  ru: Record<string, string>;
  en: Record<string, string>;
}

const catalogues: Record<Locale, Record<string, string>> = {
  ru: Object.assign({}, ru, ...AREA_MESSAGES.map((bundle) => bundle.ru)),
  en: Object.assign({}, en, ...AREA_MESSAGES.map((bundle) => bundle.en)),
};

export type Translate = (key: string, params?: Record<string, string>) => string;

export function translator(locale: Locale): Translate {
  const catalogue = catalogues[locale];
  return (key, params) => {
    const text: string = catalogue[key] ?? catalogues.ru[key] ?? key;
    return params ? text.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? '') : text;
  };
}

/** The first supported locale in a space-separated `ui_locales` list (BCP 47 tags), else Russian. */
export function pickLocale(uiLocales: unknown): Locale {
  if (typeof uiLocales !== 'string') return 'ru';
  for (const tag of uiLocales.split(/\s+/)) {
    const language = tag.toLowerCase().split('-')[0];
    if ((LOCALES as readonly string[]).includes(language)) return language as Locale;
  }
  return 'ru';
}
