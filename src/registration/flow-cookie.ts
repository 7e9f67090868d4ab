import type { Context } from 'koa';

/**
 * Binds a self-service flow to the browser that started it: a signed, HttpOnly cookie holds the
 * flow id. The id also travels in the URL, but a stranger who learns it (a shared link, a proxy
 * log) cannot continue the flow without this browser's cookie. Signed with the cookie keys, so it
 * cannot be forged; one flow per cookie name, so starting again simply replaces the old one.
 */
export interface FlowCookie {
  name: string;
  path: string;
  maxAgeSeconds: number;
  secure: boolean;
}

export function bindFlowToBrowser(ctx: Context, cookie: FlowCookie, flowId: string): void {
  ctx.cookies.set(cookie.name, flowId, {
    httpOnly: true, sameSite: 'lax', signed: true, secure: cookie.secure, path: cookie.path, maxAge: cookie.maxAgeSeconds * 1000, overwrite: true,
  });
}

export function isFlowBoundToBrowser(ctx: Context, cookieName: string, flowId: string): boolean {
  return ctx.cookies.get(cookieName, { signed: true }) === flowId;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Flow ids are uuids; anything else is refused before it reaches the database (which would throw). */
export function isFlowId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
