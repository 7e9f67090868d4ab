import { describe, expect, it } from 'vitest';
import { differingFields, normalizeName } from './profile-match.ts';
import { readPerson } from './person-api.ts';

const local = { lastName: 'Фёдоров', firstName: 'Пётр', middleName: 'Ильич', birthDate: '1980-01-15', snils: null };
const idp = { oid: '1', lastName: 'ФЕДОРОВ ', firstName: ' пётр', middleName: 'Ильич', birthDate: '1980-01-15', addresses: [] };

describe('differingFields', () => {
  it('matches names written differently: case, «ё»/«е», spaces around and inside', () => {
    expect(differingFields(local, idp)).toEqual([]);
    expect(differingFields({ ...local, lastName: 'Римский  Корсаков' }, { ...idp, lastName: ' римский корсаков' })).toEqual([]);
    expect(normalizeName('  Алёна  Мария ')).toBe('алена мария');
  });

  it('names each differing field in form order', () => {
    expect(differingFields(local, { ...idp, lastName: 'Фролов', birthDate: '1980-01-16' })).toEqual(['lastName', 'birthDate']);
    expect(differingFields(local, { ...idp, middleName: undefined })).toEqual(['middleName']);
    expect(differingFields({ ...local, middleName: null }, { ...idp, middleName: undefined })).toEqual([]);
  });

  it('refuses when the IdP gives no birth date to compare', () => {
    expect(differingFields(local, { ...idp, birthDate: undefined })).toEqual(['birthDate']);
  });

  it('decides by SNILS alone when both sides have one', () => {
    expect(differingFields({ ...local, snils: '11223344595' }, { ...idp, lastName: 'Другой', snils: '11223344595' })).toEqual([]);
    expect(differingFields({ ...local, snils: '11223344595' }, { ...idp, snils: '11223344596' })).toEqual(['snils']);
    // Only one side has SNILS: names and birth date decide.
    expect(differingFields({ ...local, snils: '11223344595' }, { ...idp, snils: undefined })).toEqual([]);
  });
});

describe('readPerson', () => {
  it('turns ESIA shapes into ours: ISO dates, SNILS digits, embedded collections', () => {
    const person = readPerson('1000000001', {
      lastName: 'Иванов',
      firstName: 'Иван',
      birthDate: '15.01.1980',
      snils: '112-233-445 95',
      contacts: { elements: [{ type: 'MBT', value: '+79990000001' }, { type: 'EML', value: 'i@example.ru' }] },
      addresses: { elements: [{ type: 'PRG', addressStr: 'г. Москва, ул. Арбат, д. 1', zipCode: '119002' }, { type: 'PLV' }] },
      documents: { elements: [{ type: 'RF_PASSPORT', series: '4506', number: '123456', issueDate: '20.05.2005', issueId: '770-001', issuedBy: 'ОВД', vrfStu: 'VERIFIED' }] },
    });
    expect(person).toEqual({
      oid: '1000000001',
      lastName: 'Иванов',
      firstName: 'Иван',
      middleName: undefined,
      birthDate: '1980-01-15',
      snils: '11223344595',
      phone: '+79990000001',
      email: 'i@example.ru',
      addresses: [{ type: 'PRG', addressStr: 'г. Москва, ул. Арбат, д. 1', zipCode: '119002' }],
      passport: { series: '4506', number: '123456', issueDate: '2005-05-20', issueId: '770-001', issuedBy: 'ОВД', verified: true },
    });
  });

  it('keeps nothing it cannot read', () => {
    expect(readPerson('1', { birthDate: '31.02.1980', snils: '123', contacts: 'x', documents: { elements: [null, { type: 'RF_PASSPORT' }] } })).toEqual({
      oid: '1', addresses: [], lastName: undefined, firstName: undefined, middleName: undefined, birthDate: undefined,
    });
  });
});
