import Router from '@koa/router';
import { AppError, assertThat } from '../shared/app-error.ts';
import type { PersonApiDeps } from '../rest/person.routes.ts';
import type { BearerPrincipal } from '../rest/bearer.ts';
import { withETag } from '../rest/etag.ts';
import { anotherCitizen, notFound, requireScope, respond } from '../rest/respond.ts';
import { findMembership, findOrganisation, isOid, listMemberships, type OrganisationSummary } from './memberships.ts';

/** Each field of /rs/orgs/{orgOid} and the scope that releases it. */
const ORG_FIELD_SCOPES = [
  ['fullName', 'org_fullname'],
  ['shortName', 'org_shortname'],
  ['ogrn', 'org_ogrn'],
  ['inn', 'org_inn'],
  ['kpp', 'org_kpp'],
  ['type', 'org_type'],
] as const;

/**
 * ESIA-shaped organisation API, read-only:
 * - `GET /rs/prns/{oid}/roles` — the citizen's organisations and roles; scope `usr_org`; only the
 *   token's own citizen (a token used by a representative on someone's behalf may not list them).
 * - `GET /rs/orgs/{orgOid}` — one organisation, fields by the granted `org_*` scopes; only for a
 *   token issued to someone acting for that very organisation, and only while they are still a member
 *   (the membership is read on every request, so removing an employee ends it at once).
 * Answers carry a strong ETag over the bytes sent (If-None-Match → 304), like the person API.
 */
export function organisationsApiRoutes({ db, authenticate }: PersonApiDeps): Router {
  const router = new Router();

  router.get('/rs/prns/:oid/roles', async (ctx) => {
    const principal = await authenticate(ctx);
    const oid = ctx.params.oid;
    assertThat(isOid(oid), notFound);
    assertThat(oid === principal.oid && principal.acting?.kind !== 'representative', anotherCitizen);
    requireScope(ctx, principal.scopes.has('usr_org'), 'usr_org');
    const memberships = await listMemberships(db, oid);
    const elements = memberships.map(({ organisation, roles }) => ({
      oid: Number(organisation.oid),
      fullName: organisation.fullName,
      shortName: organisation.shortName,
      ogrn: organisation.ogrn,
      type: esiaType(organisation),
      chief: roles.includes('chief'),
      // The head administers the organisation too (as in ESIA).
      admin: roles.includes('admin') || roles.includes('chief'),
      active: true,
    }));
    respond(ctx, { stateFacts: ['hasSize'], size: elements.length, elements });
  });

  router.get('/rs/orgs/:orgOid', async (ctx) => {
    const principal = await authenticate(ctx);
    const orgOid = ctx.params.orgOid;
    const organisation = isOid(orgOid) ? await findOrganisation(db, orgOid) : undefined;
    assertThat(organisation, notFound);
    assertThat(actsFor(principal, orgOid), () => new AppError('rest.not_acting_for_organisation', 403, 'the access token was not issued to act for this organisation'));
    assertThat(await findMembership(db, principal.oid, orgOid), () => new AppError('rest.membership_ended', 403, 'the citizen is no longer a member of this organisation'));
    const granted = ORG_FIELD_SCOPES.filter(([, scope]) => principal.scopes.has(scope));
    requireScope(ctx, granted.length > 0, 'org_fullname');
    const fields: Record<(typeof ORG_FIELD_SCOPES)[number][0], unknown> = {
      fullName: organisation.fullName,
      shortName: organisation.shortName,
      ogrn: organisation.ogrn,
      inn: organisation.inn,
      kpp: organisation.kpp,
      type: esiaType(organisation),
    };
    const body: Record<string, unknown> = { oid: Number(organisation.oid) };
    for (const [field] of granted) if (fields[field] !== null) body[field] = fields[field];
    respond(ctx, withETag(body));
  });

  return router;
}

function actsFor(principal: BearerPrincipal, orgOid: string): boolean {
  return principal.acting?.kind === 'organisation' && principal.acting.organisationOid === orgOid;
}

function esiaType(organisation: OrganisationSummary): 'LEGAL' | 'BUSINESS' {
  return organisation.kind === 'legal' ? 'LEGAL' : 'BUSINESS';
}
