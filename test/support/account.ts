import { BrowserSession, formAction, type Page } from './browser-session.ts';

/** Signs a citizen in to the account console (/account) and returns the overview page. */
export async function signInToAccount(browser: BrowserSession, issuer: string, citizen: { login: string; password: string }): Promise<Page> {
  const loginPage = await browser.open(`${issuer}/account`);
  const overview = await browser.submit(formAction(loginPage, '/login'), { login: citizen.login, password: citizen.password });
  if (!overview.url.startsWith(`${issuer}/account`)) throw new Error(`sign-in did not reach the account: ${overview.status} ${overview.url}`);
  return overview;
}

/** The CSRF token of the first form on a page (every form outside OIDC interactions carries one). */
export function csrfToken(page: Page): string {
  const token = page.html.match(/name="_csrf" value="([^"]+)"/)?.[1];
  if (!token) throw new Error(`no _csrf field on ${page.url}`);
  return token;
}
