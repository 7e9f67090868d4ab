/** Texts of the recovery pages. Keys are stable codes; Russian first. */
export const messages = {
  ru: {} as Record<string, string>,
  en: {} as Record<string, string>,
};
