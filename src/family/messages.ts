/** Texts of this area's pages (Russian first). */
export const messages = {
  ru: {} as Record<string, string>,
  en: {} as Record<string, string>,
};
