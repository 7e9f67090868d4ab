import { AsyncLocalStorage } from 'node:async_hooks';
import { generate } from 'otplib';
import { csrfToken } from '../support/account.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import type { Clock } from '../../src/shared/clock.ts';

/**
 * Helpers for the security tests: what an authenticator app would show, the enrolment a citizen
 * goes through on /account/security/totp, and requests from another browser or network.
 */

/** The code an authenticator app shows at the test clock's time (optionally some steps later). */
export async function totpCode(secret: string, clock: Clock, stepsLater = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + stepsLater * 30 });
}

/** Sets up the authenticator app for the signed-in browser; returns the secret and the recovery codes shown once. */
export async function enrolTotp(browser: BrowserSession, issuer: string, clock: Clock): Promise<{ secret: string; recoveryCodes: string[]; page: Page }> {
  const enrolment = await browser.open(`${issuer}/account/security/totp`);
  const secret = secretOn(enrolment);
  const page = await browser.submit(`${issuer}/account/security/totp`, { _csrf: csrfToken(enrolment), code: await totpCode(secret, clock) });
  return { secret, recoveryCodes: recoveryCodesOn(page), page };
}

export function secretOn(page: Page): string {
  const secret = page.html.match(/data-secret="([A-Z2-7]+)"/)?.[1];
  if (!secret) throw new Error(`no TOTP secret on ${page.url}: ${page.status}`);
  return secret;
}

export function recoveryCodesOn(page: Page): string[] {
  return [...page.html.matchAll(/data-recovery-code>([A-Z0-9-]+)</g)].map((m) => m[1]);
}

/** Submits a second-factor form (method totp | sms | recovery) and follows redirects until the RP (or a page). */
export async function submitSecondFactor(browser: BrowserSession, page: Page, method: string, code: string, stopAt: (url: string) => boolean): Promise<Page> {
  return browser.submit(formAction(page, '/second-factor'), { method, code }, stopAt);
}

/** The field error of a form on the page (`data-error-for="<field>"`). */
export function fieldError(page: Page, field: string): string | undefined {
  return page.html.match(new RegExp(`data-error-for="${field}">([^<]*)<`))?.[1];
}

export function formError(page: Page): string | undefined {
  return page.html.match(/id="form-error">([^<]*)</)?.[1];
}

/**
 * Runs `work` with extra request headers on every fetch it makes (another browser's User-Agent,
 * another network's X-Forwarded-For behind TRUST_PROXY=1). The headers travel in an
 * AsyncLocalStorage, so concurrent `withHeaders` calls never see each other's.
 */
export async function withHeaders<T>(headers: Record<string, string>, work: () => Promise<T>): Promise<T> {
  installHeaderAwareFetch();
  return extraHeaders.run(headers, work);
}

const extraHeaders = new AsyncLocalStorage<Record<string, string>>();
let installed = false;

function installHeaderAwareFetch() {
  if (installed) return;
  installed = true;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const headers = extraHeaders.getStore();
    return realFetch(input, headers ? { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...headers } } : init);
  };
}
