import Router from '@koa/router';
import type { Context } from 'koa';
import type { Db } from '../db/database.ts';
import { AppError, assertThat } from '../shared/app-error.ts';
import type { BearerAuthenticator } from './bearer.ts';
import { parseCollectionEmbed, parsePersonEmbed } from './embed.ts';
import { anotherCitizen, notFound, requireScope, respond } from './respond.ts';
import { COLLECTIONS, COLLECTION_SCOPE, mayReadCollection, personAccess, type CollectionName, type PersonAccess } from './person-access.ts';
import { CONTACT_IDS, presentAddress, presentCollection, presentContacts, presentDocument, presentPerson, type Item } from './person.presenter.ts';
import { citizenExists, findAddress, findDocument, findPersonRow, findPersonWith, listAddresses, listDocuments } from './person.repository.ts';

export interface PersonApiDeps {
  db: Db;
  issuer: string;
  authenticate: BearerAuthenticator;
}

/** ESIA's path segment of each collection. */
const SEGMENT: Record<CollectionName, string> = { contacts: 'ctts', addresses: 'addrs', documents: 'docs' };
const NUMERIC_ID = /^\d{1,18}$/;

/**
 * ESIA-shaped person API, read-only: /rs/prns/{oid}, its collections (ctts, addrs, docs) and their
 * items. Every request: bearer token (401) → the token's own citizen (403) → the scopes it was
 * granted (403 insufficient_scope) → the data (404). Scopes decide field by field what is shown,
 * with the same rules as the claims on /me (person-access.ts).
 */
export function personApiRoutes({ db, issuer, authenticate }: PersonApiDeps): Router {
  const router = new Router({ prefix: '/rs/prns' });
  const urlOf = (oid: string, collection: CollectionName) => (item: Item) => `${issuer}/rs/prns/${oid}/${SEGMENT[collection]}/${item.id}`;

  /** Who asks and what they may read; refuses another citizen's OID before looking anything up. */
  async function authorize(ctx: Context): Promise<{ oid: string; access: PersonAccess }> {
    const principal = await authenticate(ctx);
    const oid = ctx.params.oid;
    // No citizen has a non-numeric OID: nothing to protect, nothing to find.
    assertThat(NUMERIC_ID.test(oid), notFound);
    assertThat(oid === principal.oid, anotherCitizen);
    // A representative's token names the principal (src/acting); it reads their data only with the `view` right.
    assertThat(principal.acting?.kind !== 'representative' || principal.acting.rights.includes('view'), () => new AppError('rest.forbidden_subject', 403, 'the power of attorney does not grant the view right'));
    return { oid, access: personAccess(principal.scopes) };
  }

  /** A collection's items the token may see; undefined when the citizen no longer exists. */
  async function loadItems(collection: CollectionName, oid: string, access: PersonAccess): Promise<Item[] | undefined> {
    if (collection === 'contacts') {
      const person = await findPersonRow(db, oid);
      return person && presentContacts(person, access);
    }
    const [exists, items] = await Promise.all([
      citizenExists(db, oid),
      collection === 'addresses' ? listAddresses(db, oid).then((rows) => rows.map(presentAddress)) : listDocuments(db, oid).then((rows) => rows.map(presentDocument)),
    ]);
    return exists ? items : undefined;
  }

  router.get('/:oid', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    const embed = parsePersonEmbed(ctx.query.embed);
    const embedded = COLLECTIONS.filter((collection) => embed[collection] && mayReadCollection(access, collection));
    // The citizens row carries the contacts; documents are read for rIdDoc whenever id_doc was granted.
    // One statement (person.repository.ts findPersonWith) rather than one per table.
    const { person, documents, addresses } = await findPersonWith(db, oid, { documents: access.documents, addresses: embedded.includes('addresses') });
    assertThat(person, notFound);
    const items: Record<CollectionName, () => Item[]> = {
      contacts: () => presentContacts(person, access),
      addresses: () => addresses!.map(presentAddress),
      documents: () => documents!.map(presentDocument),
    };
    const body: Record<string, unknown> = presentPerson(person, access, documents?.find((d) => d.type === 'RF_PASSPORT'));
    for (const collection of embedded) body[collection] = presentCollection(items[collection](), urlOf(oid, collection), embed[collection] === 'elements');
    respond(ctx, body);
  });

  for (const collection of COLLECTIONS) {
    router.get(`/:oid/${SEGMENT[collection]}`, async (ctx) => {
      const { oid, access } = await authorize(ctx);
      const inline = parseCollectionEmbed(ctx.query.embed);
      requireScope(ctx, mayReadCollection(access, collection), COLLECTION_SCOPE[collection]);
      const items = await loadItems(collection, oid, access);
      assertThat(items, notFound);
      respond(ctx, presentCollection(items, urlOf(oid, collection), inline));
    });
  }

  router.get('/:oid/ctts/:id', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    requireScope(ctx, mayReadCollection(access, 'contacts'), COLLECTION_SCOPE.contacts);
    const type = (Object.keys(CONTACT_IDS) as (keyof typeof CONTACT_IDS)[]).find((t) => String(CONTACT_IDS[t]) === ctx.params.id);
    assertThat(type, notFound);
    requireScope(ctx, type === 'MBT' ? access.mobile : access.email, type === 'MBT' ? 'mobile' : 'email');
    const person = await findPersonRow(db, oid);
    const contact = person && presentContacts(person, access).find((c) => c.type === type);
    assertThat(contact, notFound);
    respond(ctx, contact);
  });

  router.get('/:oid/addrs/:id', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    requireScope(ctx, access.addresses, COLLECTION_SCOPE.addresses);
    const address = NUMERIC_ID.test(ctx.params.id) ? await findAddress(db, oid, ctx.params.id) : undefined;
    assertThat(address, notFound);
    respond(ctx, presentAddress(address));
  });

  router.get('/:oid/docs/:id', async (ctx) => {
    const { oid, access } = await authorize(ctx);
    requireScope(ctx, access.documents, COLLECTION_SCOPE.documents);
    const document = NUMERIC_ID.test(ctx.params.id) ? await findDocument(db, oid, ctx.params.id) : undefined;
    assertThat(document, notFound);
    respond(ctx, presentDocument(document));
  });

  return router;
}
