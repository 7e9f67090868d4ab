/**
 * Personal names as ESIA accepts them: Cyrillic letters, hyphen, apostrophe and single spaces.
 * Returns the trimmed name with inner runs of spaces folded, or null when it breaks the rule.
 */
const NAME_PATTERN = /^[А-Яа-яЁё]+(?:[ '\-][А-Яа-яЁё]+)*$/;

export function normalizePersonName(input: string): string | null {
  const value = input.trim().replace(/\s+/g, ' ');
  return value.length > 0 && value.length <= 100 && NAME_PATTERN.test(value) ? value : null;
}
