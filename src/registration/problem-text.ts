import { PASSWORD_MESSAGES_EN, PASSWORD_MESSAGES_RU, type PasswordProblem } from '../citizens/password-policy.ts';
import { translator, type Locale } from '../http/i18n.ts';

/**
 * Field problems (message keys, or the password rule's codes) as the texts shown beside each
 * field. The password rule keeps its own texts in password-policy.ts; everything else is i18n.
 */
export function problemTexts(problems: Record<string, readonly string[] | undefined>, locale: Locale): Record<string, string[]> {
  const t = translator(locale);
  const passwordTexts: Record<string, string> = locale === 'en' ? PASSWORD_MESSAGES_EN : PASSWORD_MESSAGES_RU;
  const texts: Record<string, string[]> = {};
  for (const [field, keys] of Object.entries(problems)) {
    if (keys?.length) texts[field] = keys.map((key) => passwordTexts[key as PasswordProblem] ?? t(key));
  }
  return texts;
}
