import type { TestIdp } from '../support/idp.ts';
import { BrowserSession, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { uniqueSnils } from '../support/identity.ts';
import type { TrustLevel } from '../../src/citizens/citizen.table.ts';

/**
 * People for the «Связать аккаунты» tests: accounts whose identity data is set directly in the
 * database (the pages that collect and verify it are tested on their own), and the steps of the
 * journey through the real pages.
 */
export const PASSWORD = 'Lesnaya-Tropa-2026!';

export interface Identity {
  lastName: string;
  firstName: string;
  middleName: string | null;
  birthDate: string | null;
  snils: string | null;
  passport: { series: string; number: string } | null;
  level: TrustLevel;
}

export interface Person {
  oid: string;
  phone: string;
  email: string;
  login: string;
  password: string;
  identity: Identity;
}

let serial = 0;
const next = () => ++serial;

export function newPhone(): string {
  return `79${String(process.pid % 100000).padStart(5, '0')}${String(next()).padStart(4, '0')}`;
}

/** A fresh identity: unique SNILS and passport. */
export function newIdentity(overrides: Partial<Identity> = {}): Identity {
  const n = next();
  return {
    lastName: 'Ёлкина',
    firstName: 'Мария',
    middleName: 'Петровна',
    birthDate: '1986-03-14',
    snils: uniqueSnils(),
    passport: { series: String(4600 + (n % 300)), number: String(200000 + n * 7 + (process.pid % 1000) * 1000).slice(-6).padStart(6, '0') },
    level: 'confirmed',
    ...overrides,
  };
}

export function merging(idp: TestIdp) {
  const db = idp.runtime.database.db;
  const url = (path: string) => `${idp.issuer}${path}`;

  /** An account with this identity, a phone and an e-mail. */
  async function person(identity: Identity = newIdentity(), password = PASSWORD): Promise<Person> {
    const phone = newPhone();
    const email = `merge-${phone}@example.ru`;
    const made = await idp.makeCitizen({ phone, email, password, lastName: identity.lastName, firstName: identity.firstName, middleName: identity.middleName ?? undefined });
    await db
      .updateTable('citizens')
      .set({ trust_level: identity.level, birth_date: identity.birthDate, snils: identity.snils, gender: 'F', citizenship: 'RUS' })
      .where('oid', '=', made.oid)
      .execute();
    if (identity.passport) {
      await db
        .insertInto('citizen_documents')
        .values({ citizen_oid: made.oid, type: 'RF_PASSPORT', ...identity.passport, issue_date: '2006-04-01', issue_id: '770-001', issued_by: 'ОВД района Арбат г. Москвы', vrf_status: identity.level === 'simplified' ? 'not_verified' : 'verified' })
        .execute();
    }
    return { oid: made.oid, phone, email, login: `+${phone}`, password, identity };
  }

  /** Two accounts of one person: the same identity, their own contacts and passwords. */
  async function twins(identity: Identity = newIdentity(), other: Partial<Identity> = {}): Promise<[Person, Person]> {
    return [await person(identity), await person({ ...identity, ...other }, 'Drugoj-Parol-2026!')];
  }

  async function signedIn(citizen: { login: string; password: string }): Promise<BrowserSession> {
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    return browser;
  }

  /** Posts a form of the account pages (the CSRF token comes from a page that always has a form). */
  async function post(browser: BrowserSession, path: string, fields: Record<string, string> = {}): Promise<Page> {
    const page = await browser.open(url('/account/contacts'));
    return browser.submit(url(path), { _csrf: csrfToken(page), ...fields });
  }

  async function proveByPassword(browser: BrowserSession, other: Person, password = other.password): Promise<Page> {
    return post(browser, `/account/accounts/${other.oid}/link/password`, { password });
  }

  /** Proves control with the other account's password and links it; returns the page after the link. */
  async function link(browser: BrowserSession, other: Person): Promise<Page> {
    const confirm = await proveByPassword(browser, other);
    if (!confirm.url.endsWith(`/account/accounts/${other.oid}/confirm`)) throw new Error(`proof failed: ${confirm.status} ${confirm.url}`);
    return post(browser, `/account/accounts/${other.oid}/confirm`);
  }

  const citizenRow = (oid: string) => db.selectFrom('citizens').selectAll().where('oid', '=', oid).executeTakeFirstOrThrow();

  return { db, url, person, twins, signedIn, post, proveByPassword, link, citizenRow };
}

/** The texts of a refusal page: data-refusal key → text. */
export function refusalsOn(page: Page): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of page.html.matchAll(/<li data-refusal="([^"]+)">([\s\S]*?)(?=<\/li>|<ul>)/g)) found[match[1]] = decode(match[2].trim());
  return found;
}

export function decode(html: string): string {
  return html.replace(/&laquo;/g, '«').replace(/&raquo;/g, '»').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
}
