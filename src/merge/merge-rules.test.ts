import { describe, expect, it } from 'vitest';
import { refusalsFor, sameName, type MergeSide } from './merge-rules.ts';

const side = (overrides: Partial<MergeSide> = {}): MergeSide => ({
  oid: '1000000001',
  trustLevel: 'confirmed',
  lastName: 'Ёлкина',
  firstName: 'Мария',
  middleName: 'Петровна',
  birthDate: '1986-03-14',
  snils: '11223344595',
  passport: { series: '4510', number: '111111' },
  ...overrides,
});

describe('merge rules', () => {
  it('reads names with «ё» = «е», any case and spacing as the same', () => {
    expect(sameName('Ёлкина', 'елкина')).toBe(true);
    expect(sameName(' Анна-Мария ', 'АННА-МАРИЯ')).toBe(true);
    expect(sameName('Ёлкина', 'Ёлкин')).toBe(false);
    expect(sameName(null, '')).toBe(true);
    expect(sameName(null, 'Петровна')).toBe(false);
  });

  it('lets two confirmed accounts with the same data through', () => {
    expect(refusalsFor(side(), side({ oid: '1000000002', lastName: 'ЕЛКИНА' }), [])).toEqual([]);
  });

  it('does not take a birth date, SNILS or passport missing on both sides as a match', () => {
    const bare = { birthDate: null, snils: null, passport: null };
    expect(refusalsFor(side(bare), side({ oid: '1000000002', ...bare }), []).map((r) => (r.reason === 'field_differs' ? r.field : r.reason))).toEqual(['birth_date', 'snils', 'passport']);
  });

  it('names each reason, the levels first and powers last', () => {
    const refusals = refusalsFor(side({ trustLevel: 'standard' }), side({ oid: '1000000002', trustLevel: 'simplified', snils: '12345678964' }), [
      { id: '7', principalOid: '1000000001', representativeOid: '1000000002', kind: 'between_accounts' },
    ]);
    expect(refusals).toEqual([
      { reason: 'this_not_confirmed' },
      { reason: 'other_not_confirmed' },
      { reason: 'field_differs', field: 'snils', ours: '11223344595', theirs: '12345678964' },
      { reason: 'powers_conflict', powers: [{ id: '7', principalOid: '1000000001', representativeOid: '1000000002', kind: 'between_accounts' }] },
    ]);
  });
});
