import * as client from 'openid-client';
import { parseDate } from '../shared/validators.ts';
import type { SyncedAddress, SyncedMedicalPolicy, SyncedPassport } from './mosru.tables.ts';

/**
 * Reads the citizen from the IdP's ESIA-shaped person API and keeps what Mos.ru uses, in its own
 * shapes: ISO dates, SNILS as 11 digits. Fields the granted scopes do not cover are simply absent.
 */
export interface IdpPerson {
  oid: string;
  lastName?: string;
  firstName?: string;
  middleName?: string;
  /** `yyyy-MM-dd`. */
  birthDate?: string;
  snils?: string;
  email?: string;
  phone?: string;
  passport?: SyncedPassport;
  addresses: SyncedAddress[];
  medicalPolicy?: SyncedMedicalPolicy;
}

export const PERSON_EMBED = '(contacts.elements,addresses.elements,documents.elements)';

export class PersonApiError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`the person API answered ${status}`);
    this.name = 'PersonApiError';
    this.status = status;
  }
}

export async function fetchPerson(config: client.Configuration, accessToken: string, oid: string): Promise<IdpPerson> {
  const url = new URL(`${config.serverMetadata().issuer.replace(/\/+$/, '')}/rs/prns/${encodeURIComponent(oid)}`);
  url.searchParams.set('embed', PERSON_EMBED);
  const response = await client.fetchProtectedResource(config, accessToken, url, 'GET', undefined, new Headers({ accept: 'application/json' }));
  if (response.status !== 200) {
    await response.arrayBuffer().catch(() => undefined);
    throw new PersonApiError(response.status);
  }
  return readPerson(oid, (await response.json()) as Record<string, unknown>);
}

/** ESIA's JSON → IdpPerson. Exported for unit tests. */
export function readPerson(oid: string, body: Record<string, unknown>): IdpPerson {
  const person: IdpPerson = { oid, addresses: [] };
  person.lastName = str(body.lastName);
  person.firstName = str(body.firstName);
  person.middleName = str(body.middleName);
  person.birthDate = isoDate(body.birthDate);
  const snils = str(body.snils)?.replace(/\D/g, '');
  if (snils && snils.length === 11) person.snils = snils;

  for (const contact of elements(body.contacts)) {
    if (contact.type === 'EML') person.email = str(contact.value);
    if (contact.type === 'MBT') person.phone = str(contact.value);
  }
  for (const address of elements(body.addresses)) {
    const addressStr = str(address.addressStr);
    if (addressStr) person.addresses.push({ type: str(address.type) ?? '', addressStr, ...(str(address.zipCode) ? { zipCode: str(address.zipCode) } : {}) });
  }
  for (const document of elements(body.documents)) {
    if (document.type === 'RF_PASSPORT' && str(document.series) && str(document.number)) {
      person.passport = {
        series: str(document.series)!,
        number: str(document.number)!,
        issueDate: isoDate(document.issueDate),
        issueId: str(document.issueId),
        issuedBy: str(document.issuedBy),
        verified: document.vrfStu === 'VERIFIED',
      };
    }
    // ESIA's compulsory medical insurance policy; our IdP has none yet, real ESIA does.
    if (document.type === 'MDCL_PLCY' && str(document.number)) {
      person.medicalPolicy = { number: str(document.number)!, ...(str(document.series) ? { series: str(document.series) } : {}) };
    }
  }
  return person;
}

function elements(collection: unknown): Array<Record<string, unknown>> {
  const items = (collection as { elements?: unknown } | undefined)?.elements;
  return Array.isArray(items) ? items.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function isoDate(value: unknown): string | undefined {
  const parsed = parseDate(str(value));
  return parsed.ok ? parsed.value : undefined;
}
