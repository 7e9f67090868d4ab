import Router from '@koa/router';
import type { Context } from 'koa';
import type { PersonApiDeps } from '../rest/person.routes.ts';
import { parseCollectionEmbed } from '../rest/embed.ts';
import { anotherCitizen, notFound, requireScope, respond } from '../rest/respond.ts';
import { presentCollection, type Item } from '../rest/person.presenter.ts';
import { citizenExists } from '../rest/person.repository.ts';
import { assertThat } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import { calendarDate } from '../shared/validators.ts';
import { findVerifiedChildOf, listVerifiedChildrenOf } from './children.repository.ts';
import { kidAccess, presentBirthCertificate, presentKid, type KidAccess } from './kids.presenter.ts';

const NUMERIC_ID = /^\d{1,18}$/;

/**
 * /rs/prns/{oid}/kids[/{kidId}[/docs[/{docId}]]] in ESIA's shapes, with the person API's rules:
 * bearer token (401) → the token's own citizen (403; a non-numeric OID is 404) → a kid_* scope
 * (403 insufficient_scope) → the data (404). Only children the civil registry verified and who
 * are under 18 today (the clock's date in Moscow) exist here: from the 18th birthday the record is
 * an adult's, not the parent's child's, and the API answers 404 for it.
 */
export function kidsApiRoutes({ db, issuer, authenticate, clock }: PersonApiDeps & { clock: Clock }): Router {
  const router = new Router({ prefix: '/rs/prns/:oid/kids' });
  const kidUrl = (oid: string) => (item: Item) => `${issuer}/rs/prns/${oid}/kids/${item.id}`;
  const docUrl = (oid: string, kidId: string) => (item: Item) => `${issuer}/rs/prns/${oid}/kids/${kidId}/docs/${item.id}`;

  async function authorize(ctx: Context): Promise<{ oid: string; access: KidAccess }> {
    const principal = await authenticate(ctx);
    const oid = ctx.params.oid;
    assertThat(NUMERIC_ID.test(oid), notFound);
    assertThat(oid === principal.oid, anotherCitizen);
    const access = kidAccess(principal.scopes);
    // Any kid_* scope opens the list; kid_fullname is the one to name as enough.
    requireScope(ctx, access.any, 'kid_fullname');
    return { oid, access };
  }

  async function kidOf(oid: string, kidId: string) {
    const child = await findVerifiedChildOf(db, oid, kidId, calendarDate(clock.now()));
    assertThat(child, notFound);
    return child;
  }

  router.get('/', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    const inline = parseCollectionEmbed(ctx.query.embed);
    const [exists, children] = await Promise.all([citizenExists(db, oid), listVerifiedChildrenOf(db, oid, calendarDate(clock.now()))]);
    assertThat(exists, notFound);
    respond(ctx, presentCollection(children.map((child) => presentKid(child, access)), kidUrl(oid), inline));
  });

  router.get('/:kidId', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    respond(ctx, presentKid(await kidOf(oid, ctx.params.kidId), access));
  });

  router.get('/:kidId/docs', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    requireScope(ctx, access.certificate, 'kid_birth_cert_doc');
    const inline = parseCollectionEmbed(ctx.query.embed);
    const child = await kidOf(oid, ctx.params.kidId);
    respond(ctx, presentCollection([presentBirthCertificate(child)], docUrl(oid, child.id), inline));
  });

  router.get('/:kidId/docs/:docId', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    requireScope(ctx, access.certificate, 'kid_birth_cert_doc');
    const child = await kidOf(oid, ctx.params.kidId);
    assertThat(ctx.params.docId === child.id, notFound);
    respond(ctx, presentBirthCertificate(child));
  });

  return router;
}
