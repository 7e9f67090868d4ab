import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateOgrn, validateOgrnip, validateOrganisationInn, validatePersonalInn } from '../../src/shared/validators.ts';
import { createInMemoryBusinessRegistry, MOCK_BUSINESS_REGISTRY_FILE, mockBusinessRegistry, parseBusinessRegistryFile } from '../../src/organisations/business-registry.ts';
import { validateNumbers } from '../../src/organisations/organisations.service.ts';
import { parseInvitee } from '../../src/organisations/invitations.service.ts';

/**
 * The numbers an organisation is added by, and the mock state register. The valid numbers below were
 * computed by hand with the FNS rules:
 * - INN-10 7701234560: Σ(7·2,7·4,0·10,1·3,2·5,3·9,4·4,5·6,6·8) = 14+28+0+3+10+27+16+30+48 = 176; 176 mod 11 = 0 → 0.
 * - OGRN 1027700123450: 102770012345 mod 11 = 0 → 0.
 * - OGRNIP 304770000123453: 30477000012345 mod 13 = 3 → 3.
 * - INN-12 770123456703: first control (7,2,4,10,3,5,9,4,6,8) → 0, second (3,7,2,4,10,3,5,9,4,6,8) → 3.
 */
describe('organisation numbers', () => {
  it('accepts a legal entity INN (10 digits) and refuses a typo, a wrong length, letters', () => {
    expect(validateOrganisationInn('7701234560')).toEqual({ ok: true, value: '7701234560' });
    expect(validateOrganisationInn(' 7701234560 ')).toEqual({ ok: true, value: '7701234560' });
    expect(validateOrganisationInn('7701234561')).toEqual({ ok: false, reason: 'checksum' });
    expect(validateOrganisationInn('770123456')).toEqual({ ok: false, reason: 'length' });
    expect(validateOrganisationInn('77012345б0')).toEqual({ ok: false, reason: 'format' });
    expect(validateOrganisationInn('')).toEqual({ ok: false, reason: 'required' });
  });

  it('accepts a sole proprietor INN (12 digits) only when both control digits hold', () => {
    expect(validatePersonalInn('770123456703')).toEqual({ ok: true, value: '770123456703' });
    expect(validatePersonalInn('770123456713')).toEqual({ ok: false, reason: 'checksum' });
    expect(validatePersonalInn('770123456704')).toEqual({ ok: false, reason: 'checksum' });
    expect(validatePersonalInn('7701234560')).toEqual({ ok: false, reason: 'length' });
  });

  it('OGRN: 13 digits, first 12 mod 11, last digit of that; starts with 1 or 5', () => {
    expect(validateOgrn('1027700123450')).toEqual({ ok: true, value: '1027700123450' });
    expect(validateOgrn('1155000111221')).toEqual({ ok: true, value: '1155000111221' });
    expect(validateOgrn('1177700999882')).toEqual({ ok: true, value: '1177700999882' });
    expect(validateOgrn('1027700123451')).toEqual({ ok: false, reason: 'checksum' });
    expect(validateOgrn('3027700123450')).toEqual({ ok: false, reason: 'format' });
    expect(validateOgrn('102770012345')).toEqual({ ok: false, reason: 'length' });
  });

  it('OGRNIP: 15 digits, first 14 mod 13, last digit of that; starts with 3', () => {
    expect(validateOgrnip('304770000123453')).toEqual({ ok: true, value: '304770000123453' });
    // 31650010020030 mod 13 = 12: the control digit is its last digit, 2.
    expect(validateOgrnip('316500100200302')).toEqual({ ok: true, value: '316500100200302' });
    expect(validateOgrnip('304770000123454')).toEqual({ ok: false, reason: 'checksum' });
    expect(validateOgrnip('104770000123453')).toEqual({ ok: false, reason: 'format' });
    expect(validateOgrnip('1027700123450')).toEqual({ ok: false, reason: 'length' });
  });

  it('checks the numbers by the kind chosen: a legal entity\'s pair is refused for a sole proprietor', () => {
    expect(validateNumbers({ kind: 'legal', inn: '7701234560', ogrn: '1027700123450' })).toEqual({ ok: true, kind: 'legal', inn: '7701234560', ogrn: '1027700123450' });
    expect(validateNumbers({ kind: 'sole_proprietor', inn: '770123456703', ogrn: '304770000123453' })).toMatchObject({ ok: true, kind: 'sole_proprietor' });
    expect(validateNumbers({ kind: 'sole_proprietor', inn: '7701234560', ogrn: '1027700123450' })).toEqual({ ok: false, errors: { inn: 'length', ogrn: 'length' } });
    expect(validateNumbers({ kind: 'legal', inn: '7701234560', ogrn: '304770000123453' })).toEqual({ ok: false, errors: { ogrn: 'length' } });
    expect(validateNumbers({ kind: 'government', inn: '7701234560', ogrn: '1027700123450' })).toEqual({ ok: false, errors: { kind: 'required' } });
  });

  it('reads an invitee as an e-mail when it has "@", else as a SNILS', () => {
    expect(parseInvitee(' Anna@Example.RU ')).toEqual({ ok: true, invitee: { kind: 'email', value: 'anna@example.ru' } });
    expect(parseInvitee('123-456-701 40')).toEqual({ ok: true, invitee: { kind: 'snils', value: '12345670140' } });
    expect(parseInvitee('123-456-701 41')).toEqual({ ok: false, reason: 'checksum' });
    expect(parseInvitee('anna@')).toEqual({ ok: false, reason: 'format' });
    expect(parseInvitee('  ')).toEqual({ ok: false, reason: 'required' });
  });
});

describe('the mock state register (config/mock-business-registry.json)', () => {
  it('knows the demo ООО headed by Иванов, his ИП, a liquidated company and companies headed by others', async () => {
    const registry = mockBusinessRegistry();
    expect(await registry.lookup('legal', '7701234560', '1027700123450')).toMatchObject({ status: 'active', shortName: 'ООО «Ромашка»', kpp: '770101001', head: { snils: '11223344595', lastName: 'Иванов' } });
    expect(await registry.lookup('sole_proprietor', '770123456703', '304770000123453')).toMatchObject({ status: 'active', kpp: null, head: { snils: '11223344595' } });
    expect(await registry.lookup('legal', '7707654321', '1037700543210')).toMatchObject({ status: 'liquidated' });
    expect(await registry.lookup('legal', '5001112228', '1155000111221')).toMatchObject({ status: 'active', head: { snils: '34567892329' } });
    // The pair must match: the right INN with another OGRN, or the wrong kind, is not found.
    expect(await registry.lookup('legal', '7701234560', '1155000111221')).toBeUndefined();
    expect(await registry.lookup('sole_proprietor', '7701234560', '1027700123450')).toBeUndefined();
  });

  it('refuses the whole file when a number in it has a wrong control digit', () => {
    const file = JSON.parse(readFileSync(MOCK_BUSINESS_REGISTRY_FILE, 'utf8'));
    expect(parseBusinessRegistryFile(JSON.stringify(file))).toHaveLength(file.organisations.length);
    file.organisations[0].ogrn = '1027700123451';
    expect(() => parseBusinessRegistryFile(JSON.stringify(file), 'broken.json')).toThrow(/broken\.json: organisations\.0\.ogrn: checksum/);
  });

  it('hands out copies: a caller changing a record does not change the register', async () => {
    const registry = createInMemoryBusinessRegistry(parseBusinessRegistryFile(readFileSync(MOCK_BUSINESS_REGISTRY_FILE, 'utf8')));
    const record = (await registry.lookup('legal', '7701234560', '1027700123450'))!;
    record.head.snils = '00000000000';
    expect((await registry.lookup('legal', '7701234560', '1027700123450'))!.head.snils).toBe('11223344595');
  });
});
