/**
 * A browser without a browser: fetch with a cookie jar per host name and manual redirects, so tests can
 * walk an authorization through our real pages and stop where the RP would receive the code.
 */
export interface Page {
  url: string;
  status: number;
  html: string;
  headers: Headers;
}

export class BrowserSession {
  private readonly jar = new Map<string, Map<string, string>>();

  /** GETs `url` and follows redirects until `stopAt` matches a Location (returned unfetched) or a page answers. */
  async open(url: string, stopAt?: (url: string) => boolean): Promise<Page> {
    return this.follow(await this.request('GET', url), url, stopAt);
  }

  /** POSTs a urlencoded form and follows redirects like `open`. */
  async submit(url: string, form: Record<string, string>, stopAt?: (url: string) => boolean): Promise<Page> {
    return this.follow(await this.request('POST', url, new URLSearchParams(form)), url, stopAt);
  }

  /** A cookie's value for a host name (a `host:port` is accepted; the port does not matter). */
  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host.replace(/:\d+$/, ''))?.get(name);
  }

  private async follow(response: Response, url: string, stopAt?: (url: string) => boolean): Promise<Page> {
    let current = url;
    for (let hops = 0; hops < 20; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        return { url: current, status: response.status, html: await response.text(), headers: response.headers };
      }
      await response.body?.cancel();
      current = new URL(location, current).toString();
      if (stopAt?.(current)) return { url: current, status: response.status, html: '', headers: response.headers };
      response = await this.request('GET', current);
    }
    throw new Error(`too many redirects from ${url}`);
  }

  private async request(method: string, url: string, body?: URLSearchParams): Promise<Response> {
    // Cookies belong to a host name, not a port (RFC 6265 §8.5), as in a real browser.
    const host = new URL(url).hostname;
    const cookies = [...(this.jar.get(host) ?? new Map())].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, {
      method,
      body,
      redirect: 'manual',
      headers: { accept: 'text/html', ...(cookies ? { cookie: cookies } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    });
    for (const line of response.headers.getSetCookie()) this.store(host, line);
    return response;
  }

  private store(host: string, setCookie: string) {
    const [pair, ...attributes] = setCookie.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const jar = this.jar.get(host) ?? new Map<string, string>();
    this.jar.set(host, jar);
    const expired = attributes.some((a) => /^\s*expires=/i.test(a) && new Date(a.split('=')[1]) < new Date()) || attributes.some((a) => /^\s*max-age=0\b/i.test(a));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

/** The first form action on a page whose path ends with `suffix` (e.g. "/login"), as an absolute URL. */
export function formAction(page: Page, suffix: string): string {
  const actions = [...page.html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
  const action = actions.find((a) => new URL(a, page.url).pathname.endsWith(suffix));
  if (!action) throw new Error(`no form ending in ${suffix} on ${page.url}: ${page.html.slice(0, 500)}`);
  return new URL(action, page.url).toString();
}

/** Hidden inputs of the form with the given id (oidc-provider's logout form carries an xsrf token). */
export function hiddenInputs(page: Page, formId: string): Record<string, string> {
  const form = page.html.match(new RegExp(`<form[^>]*id="${formId.replace('.', '\\.')}"[\\s\\S]*?</form>`))?.[0] ?? '';
  return Object.fromEntries([...form.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}
