import type { Context } from 'koa';
import { AppError } from '../shared/app-error.ts';
import { contentTag, ifNoneMatchHits, quoteETag } from './etag.ts';

/**
 * How every ESIA-shaped resource API answers (/rs/prns, its kids, /rs/orgs, roles): one place, so
 * that caching, the insufficient_scope challenge and the error codes cannot drift apart.
 */

/**
 * Sends the JSON with a strong ETag over the exact bytes sent, or 304 when the client already has
 * them. `private, no-cache`: personal data, and every reuse must be revalidated with the token.
 */
export function respond(ctx: Context, body: object): void {
  const json = JSON.stringify(body);
  const tag = contentTag(json);
  ctx.set('Cache-Control', 'private, no-cache');
  ctx.set('Vary', 'Authorization');
  ctx.set('ETag', quoteETag(tag));
  if (ifNoneMatchHits(ctx.get('if-none-match') || undefined, tag)) {
    ctx.status = 304;
    return;
  }
  ctx.type = 'application/json';
  ctx.body = json;
}

/** RFC 6750 §3.1: insufficient_scope names a scope that would be enough. */
export function requireScope(ctx: Context, granted: boolean, scope: string): void {
  if (granted) return;
  ctx.set('WWW-Authenticate', `Bearer realm="esia-rs", error="insufficient_scope", scope="${scope}"`);
  throw new AppError('rest.insufficient_scope', 403, `the access token was not granted the ${scope} scope`);
}

export function notFound(): AppError {
  return new AppError('rest.not_found', 404, 'no such resource');
}

/** A citizen's resources are only for tokens issued to that citizen. */
export function anotherCitizen(): AppError {
  return new AppError('rest.forbidden_subject', 403, 'the access token was issued for another citizen');
}
