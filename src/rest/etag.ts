import { createHash } from 'node:crypto';

/**
 * ESIA puts an `eTag` in every resource. Ours is the SHA-256 (base64url) of the resource's JSON
 * without that field, so it changes exactly when what the client sees changes. Key order is fixed
 * by the presenters, so equal content always gives an equal tag.
 */
export function withETag<T extends object>(resource: T): T & { eTag: string } {
  return { ...resource, eTag: contentTag(JSON.stringify(resource)) };
}

export function contentTag(json: string): string {
  return createHash('sha256').update(json).digest('base64url');
}

/** The `ETag` header form of a tag: strong, quoted. */
export function quoteETag(tag: string): string {
  return `"${tag}"`;
}

/**
 * If-None-Match (RFC 9110 §13.1.2): `*` or a list of tags, compared weakly (a `W/` prefix is
 * ignored), so a client that got our strong tag back through a weakening proxy still gets its 304.
 */
export function ifNoneMatchHits(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const quoted = quoteETag(tag);
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === quoted);
}
