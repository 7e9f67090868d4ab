/**
 * A browser without a browser: plain fetch, redirects followed by hand, and a cookie jar that
 * behaves like a browser's where our journeys need it — cookies belong to a host name (not a port,
 * so the IdP and Mos.ru on 127.0.0.1 see each other's cookies, as they would in a real browser),
 * honour Path, and are deleted by an expiry in the past.
 */
export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

export interface Browser {
  get(url: string, options?: { follow?: boolean }): Promise<Page>;
  post(url: string, form: Record<string, string>, options?: { follow?: boolean }): Promise<Page>;
  /** Submits a form found on the page (by id, or the first one whose action contains `match`), with extra fields. */
  submit(page: Page, form: { id?: string; actionContains?: string }, extra?: Record<string, string>): Promise<Page>;
  /** Cookies this browser would send to the URL. */
  cookies(url: string): Record<string, string>;
  /** Every URL requested, in order (redirects included). */
  history: string[];
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expiresAt?: number;
}

const MAX_REDIRECTS = 20;

export function createBrowser(): Browser {
  const jar = new Map<string, StoredCookie[]>();
  const history: string[] = [];

  function cookiesFor(url: URL): StoredCookie[] {
    const now = Date.now();
    return (jar.get(url.hostname) ?? []).filter((c) => (c.expiresAt === undefined || c.expiresAt > now) && pathMatches(url.pathname, c.path));
  }

  function store(url: URL, setCookies: string[]): void {
    const cookies = jar.get(url.hostname) ?? [];
    for (const header of setCookies) {
      const cookie = parseSetCookie(header, url);
      const rest = cookies.filter((c) => !(c.name === cookie.name && c.path === cookie.path));
      if (cookie.expiresAt === undefined || cookie.expiresAt > Date.now()) rest.push(cookie);
      cookies.splice(0, cookies.length, ...rest);
    }
    jar.set(url.hostname, cookies);
  }

  async function request(method: 'GET' | 'POST', startUrl: string, form: Record<string, string> | undefined, follow: boolean): Promise<Page> {
    let url = new URL(startUrl);
    let body = form ? new URLSearchParams(form).toString() : undefined;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      history.push(url.href);
      const cookieHeader = cookiesFor(url).map((c) => `${c.name}=${c.value}`).join('; ');
      const response = await fetch(url, {
        method,
        redirect: 'manual',
        headers: {
          accept: 'text/html',
          ...(cookieHeader ? { cookie: cookieHeader } : {}),
          ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body,
      });
      store(url, response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (follow && location && response.status >= 300 && response.status < 400) {
        await response.arrayBuffer();
        url = new URL(location, url);
        if (response.status !== 307 && response.status !== 308) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { url: url.href, status: response.status, headers: response.headers, body: await response.text() };
    }
    throw new Error(`more than ${MAX_REDIRECTS} redirects from ${startUrl}`);
  }

  const get: Browser['get'] = (url, options) => request('GET', url, undefined, options?.follow ?? true);
  const post: Browser['post'] = (url, form, options) => request('POST', url, form, options?.follow ?? true);

  return {
    history,
    get,
    post,
    async submit(page, selector, extra = {}) {
      const found = findForm(page.body, selector);
      if (!found) throw new Error(`no form ${JSON.stringify(selector)} on ${page.url}`);
      const action = new URL(found.action || page.url, page.url).href;
      const fields = { ...found.fields, ...extra };
      return found.method === 'post' ? post(action, fields) : get(`${action}?${new URLSearchParams(fields)}`);
    },
    cookies(url) {
      return Object.fromEntries(cookiesFor(new URL(url)).map((c) => [c.name, c.value]));
    },
  };
}

/** A form's action, method and the values of its named inputs (hidden ones included). */
export function findForm(html: string, selector: { id?: string; actionContains?: string }): { action: string; method: string; fields: Record<string, string> } | undefined {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1]);
    if (selector.id && attributes.id !== selector.id) continue;
    if (selector.actionContains && !(attributes.action ?? '').includes(selector.actionContains)) continue;
    const fields: Record<string, string> = {};
    for (const input of match[2].matchAll(/<input\b([^>]*)>/gi)) {
      const inputAttributes = parseAttributes(input[1]);
      if (inputAttributes.name) fields[inputAttributes.name] = inputAttributes.value ?? '';
    }
    return { action: attributes.action ?? '', method: (attributes.method ?? 'get').toLowerCase(), fields };
  }
  return undefined;
}

/** The text of an HTML fragment with tags dropped and the common entities decoded. */
export function textOf(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of source.matchAll(/([\w:.-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    attributes[match[1].toLowerCase()] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function parseSetCookie(header: string, url: URL): StoredCookie {
  const [pair, ...attributeParts] = header.split(';');
  const eq = pair.indexOf('=');
  const cookie: StoredCookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: defaultPath(url.pathname) };
  let maxAge: number | undefined;
  for (const part of attributeParts) {
    const [rawKey, ...rawValue] = part.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rawValue.join('=').trim();
    if (key === 'path' && value.startsWith('/')) cookie.path = value;
    if (key === 'expires') cookie.expiresAt = Date.parse(value);
    if (key === 'max-age') maxAge = Number(value);
  }
  // Max-Age wins over Expires (RFC 6265 §5.3).
  if (maxAge !== undefined && Number.isFinite(maxAge)) cookie.expiresAt = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
  return cookie;
}

function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
