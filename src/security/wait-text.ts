import type { Translate } from '../http/i18n.ts';

/** "45 сек." under a minute, else whole minutes rounded up: how long until the next try. */
export function waitText(t: Translate, seconds: number): string {
  return seconds < 60 ? t('security.wait.seconds', { n: String(seconds) }) : t('security.wait.minutes', { n: String(Math.ceil(seconds / 60)) });
}
