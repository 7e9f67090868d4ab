import type { CitizenAddress, CitizenDocument } from '../citizens/citizen.table.ts';
import { esiaVerificationStatus } from '../oidc/claims.ts';
import { formatDateRu, formatSnils } from '../shared/validators.ts';
import { withETag } from './etag.ts';
import type { PersonAccess } from './person-access.ts';
import type { PersonRow } from './person.repository.ts';

/**
 * ESIA's JSON shapes. Every entity carries an `eTag` of its own content; a collection's `eTag`
 * covers its elements' content, whether they are embedded or given as links.
 */

export type Item = { id: number; eTag: string } & Record<string, unknown>;

/** The person root: each data field only when its scope was granted (absent, not null, otherwise). */
export function presentPerson(person: PersonRow, access: PersonAccess, passport: CitizenDocument | undefined) {
  return withETag({
    stateFacts: ['EntityRoot'],
    ...(access.names && {
      firstName: person.first_name,
      lastName: person.last_name,
      ...(person.middle_name && { middleName: person.middle_name }),
      // ESIA states citizenship beside the name; we state it only once the citizen has given it.
      ...(person.citizenship && { citizenship: person.citizenship }),
    }),
    ...(access.birthDate && person.birth_date && { birthDate: formatDateRu(person.birth_date) }),
    ...(access.gender && person.gender && { gender: person.gender }),
    ...(access.birthPlace && person.birth_place && { birthPlace: person.birth_place }),
    ...(access.snils && person.snils && { snils: formatSnils(person.snils) }),
    ...(access.inn && person.inn && { inn: person.inn }),
    trusted: person.trust_level === 'confirmed',
    status: 'REGISTERED',
    verifying: Boolean(person.verifying),
    ...(access.documents && passport && { rIdDoc: Number(passport.id) }),
    // The OIDs of accounts linked into this one («Связать аккаунты»), only when there are any.
    ...(person.merged_oids.length > 0 && { mergedOids: person.merged_oids }),
    updatedOn: Math.floor(person.updated_at.getTime() / 1000),
  });
}

/**
 * Contacts are columns of the account, not rows, so their ids are fixed per type: 1 is the mobile
 * phone, 2 the e-mail. Numbers, like ESIA's ids, so ESIA clients can parse them unchanged.
 */
export const CONTACT_IDS = { MBT: 1, EML: 2 } as const;

/** The contacts the token may see, in id order. On the account they were proved with a code: verified. */
export function presentContacts(person: PersonRow, access: PersonAccess): Item[] {
  const contacts: Item[] = [];
  if (access.mobile && person.phone) contacts.push(contactItem('MBT', `+${person.phone}`));
  if (access.email && person.email) contacts.push(contactItem('EML', person.email));
  return contacts;
}

function contactItem(type: keyof typeof CONTACT_IDS, value: string): Item {
  return withETag({ id: CONTACT_IDS[type], stateFacts: ['Identifiable'], type, vrfStu: 'VERIFIED', value });
}

export function presentAddress(address: CitizenAddress): Item {
  return withETag({
    id: Number(address.id),
    stateFacts: ['Identifiable'],
    type: address.type,
    addressStr: address.address_str,
    ...(address.zip_code && { zipCode: address.zip_code }),
    ...(address.region && { region: address.region }),
    ...(address.city && { city: address.city }),
    ...(address.street && { street: address.street }),
    ...(address.house && { house: address.house }),
    ...(address.flat && { flat: address.flat }),
    countryId: 'RUS',
  });
}

export function presentDocument(document: CitizenDocument): Item {
  return withETag({
    id: Number(document.id),
    stateFacts: ['Identifiable'],
    type: document.type,
    series: document.series,
    number: document.number,
    issueDate: formatDateRu(document.issue_date),
    issueId: document.issue_id,
    issuedBy: document.issued_by,
    vrfStu: esiaVerificationStatus(document.vrf_status),
  });
}

/** ESIA's collection envelope: element URLs, or with `embed=(elements)` the elements themselves. */
export function presentCollection(items: Item[], urlOf: (item: Item) => string, inline: boolean) {
  const { eTag } = withETag({ elements: items });
  return { stateFacts: ['hasSize'], size: items.length, eTag, elements: inline ? items : items.map(urlOf) };
}
