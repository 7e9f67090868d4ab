import { describe, expect, it } from 'vitest';
import {
  addYears,
  ageOn,
  calendarDate,
  formatDateRu,
  formatSnils,
  innKind,
  parseDate,
  snilsControl,
  validateBirthCertificateNumber,
  validateBirthCertificateSeries,
  validateBirthDate,
  validateDivisionCode,
  validateGender,
  validateInn,
  validateOgrn,
  validateOgrnip,
  validateOrganisationInn,
  validatePassportIssueDate,
  validatePassportNumber,
  validatePassportSeries,
  validatePersonalInn,
  validateRfPassport,
  validateSnils,
} from '../../src/shared/validators.ts';

const ok = (value: unknown) => ({ ok: true, value });
const fails = (reason: string) => ({ ok: false, reason });

describe('SNILS', () => {
  it.each([
    // 1·9 + 1·8 + 2·7 + 2·6 + 3·5 + 3·4 + 4·3 + 4·2 + 5·1 = 9+8+14+12+15+12+12+8+5 = 95 < 100 → 95
    ['112-233-445 95', '11223344595'],
    ['11223344595', '11223344595'],
    [' 112 233 445 95 ', '11223344595'],
    ['112-233-445-95', '11223344595'],
    // 1·9+2·8+3·7+4·6+5·5+6·4+7·3+8·2+9·1 = 9+16+21+24+25+24+21+16+9 = 165 > 101 → 165 mod 101 = 64
    ['123-456-789 64', '12345678964'],
    // 9+8+14+12+15+12+12+6·2+6·1 = 100 → exactly 100 → 00
    ['112-233-466 00', '11223346600'],
    // 9+8+14+12+15+12+12+12+7 = 101 → exactly 101 → 00
    ['112-233-467 00', '11223346700'],
    // 9+8+14+12+15+12+12+12+8 = 102 → 102 mod 101 = 01
    ['112-233-468 01', '11223346801'],
    // 3·9+5·8+5·7+4·6+5·5+5·4+5·3+5·2+5·1 = 27+40+35+24+25+20+15+10+5 = 201 → 201 mod 101 = 100 → 00
    ['355-455-555 00', '35545555500'],
    // 2·9+8·8+8·7+8·6+8·5+7·4+8·3+8·2+8·1 = 18+64+56+48+40+28+24+16+8 = 302 → 302 mod 101 = 100 → 00
    ['288-887-888 00', '28888788800'],
    // 9·45 = 405 → 405 mod 101 = 1 → 01
    ['999-999-999 01', '99999999901'],
    // 001-001-998 and below predate the check digits: any control is accepted
    ['001-001-998 00', '00100199800'],
    ['001-001-998 99', '00100199899'],
    ['000-000-001 23', '00000000123'],
    // the first checked number: 1·7 + 1·4 + 9·3 + 9·2 + 9·1 = 65
    ['001-001-999 65', '00100199965'],
  ])('accepts %s', (input, value) => expect(validateSnils(input)).toEqual(ok(value)));

  it.each([
    ['112-233-445 96', 'checksum'],
    ['112-233-445 00', 'checksum'],
    ['112-233-466 100', 'length'], // "100" is never written: sum 100 gives 00
    ['355-455-555 99', 'checksum'],
    ['123-456-789 65', 'checksum'],
    ['001-001-999 00', 'checksum'], // just above the threshold the rule applies
    ['000-000-000 00', 'format'],
    ['112-233-445 9', 'length'],
    ['112-233-445 955', 'length'],
    ['1122334459', 'length'],
    ['112-233-445 9A', 'format'],
    ['112/233/445 95', 'format'],
    ['', 'required'],
    ['  ', 'required'],
  ])('refuses %s (%s)', (input, reason) => expect(validateSnils(input)).toEqual(fails(reason)));

  it('refuses null and undefined as missing', () => {
    expect(validateSnils(null)).toEqual(fails('required'));
    expect(validateSnils(undefined)).toEqual(fails('required'));
  });

  it('computes the control number by the Pension Fund rule', () => {
    expect(snilsControl('112233445')).toBe(95);
    expect(snilsControl('112233466')).toBe(0);
    expect(snilsControl('112233467')).toBe(0);
    expect(snilsControl('355455555')).toBe(0);
    expect(snilsControl('123456789')).toBe(64);
  });

  it('formats 11 digits for display and leaves anything else alone', () => {
    expect(formatSnils('12345678901')).toBe('123-456-789 01');
    expect(formatSnils('123 456 789-01')).toBe('123-456-789 01');
    expect(formatSnils(' 1234 ')).toBe('1234');
  });
});

describe('INN', () => {
  // Sberbank: 7·2+7·4+0·10+7·3+0·5+8·9+3·4+8·6+9·8 = 14+28+0+21+0+72+12+48+72 = 267; 267 mod 11 = 3 → 3
  // Yandex:   7·2+7·4+3·10+6·3+2·5+0·9+7·4+5·6+4·8 = 14+28+30+18+10+0+28+30+32 = 190; 190 mod 11 = 3 → 3
  it.each(['7707083893', '7736207543', ' 7707083893 '])('accepts the organisation INN %s', (input) => {
    expect(validateOrganisationInn(input)).toEqual(ok(input.trim()));
    expect(validateInn(input)).toEqual(ok(input.trim()));
  });

  // 500100732259, first control over 5,0,0,1,0,0,7,3,2,2 with 7,2,4,10,3,5,9,4,6,8:
  //   35+0+0+10+0+0+63+12+12+16 = 148; 148 mod 11 = 5 → 11th digit 5
  // second over 5,0,0,1,0,0,7,3,2,2,5 with 3,7,2,4,10,3,5,9,4,6,8:
  //   15+0+0+4+0+0+35+27+8+12+40 = 141; 141 mod 11 = 9 → 12th digit 9
  it('accepts the personal INN 500100732259', () => {
    expect(validatePersonalInn('500100732259')).toEqual(ok('500100732259'));
    expect(validatePersonalInn('5001 0073 2259')).toEqual(ok('500100732259'));
    expect(validateInn('500100732259')).toEqual(ok('500100732259'));
  });

  it.each([
    ['7707083894', 'checksum'],
    ['7707083839', 'checksum'],
    ['77070838931', 'length'],
    ['770708389', 'length'],
    ['770708389O', 'format'], // a letter O for the zero
    ['77-07-083893', 'format'],
    ['', 'required'],
  ])('refuses the organisation INN %s (%s)', (input, reason) => expect(validateOrganisationInn(input)).toEqual(fails(reason)));

  it.each([
    ['500100732249', 'checksum'], // 11th digit wrong (5 expected)
    ['500100732250', 'checksum'], // 11th right, 12th wrong (9 expected)
    ['500100732295', 'checksum'], // the two controls swapped
    ['7707083893', 'length'], // an organisation's INN is not a person's
    ['50010073225', 'length'],
    ['50010073225x', 'format'],
  ])('refuses the personal INN %s (%s)', (input, reason) => expect(validatePersonalInn(input)).toEqual(fails(reason)));

  it('takes 10 or 12 digits in the general check, nothing between', () => {
    expect(validateInn('50010073225')).toEqual(fails('length'));
    expect(validateInn('500100732258')).toEqual(fails('checksum'));
    expect(validateOrganisationInn('500100732259')).toEqual(fails('length'));
  });

  it('tells the kinds apart by length', () => {
    expect(innKind('7707083893')).toBe('organisation');
    expect(innKind('500100732259')).toBe('personal');
  });
});

describe('OGRN and OGRNIP', () => {
  // mod 11 by hand: 10 ≡ −1 (mod 11), so alternate the digits' signs from the right.
  // Sberbank 1027700132195: 102770013219 → 9−1+2−3+1−0+0−7+7−2+0−1 = 5 → 5 mod 10 = 5
  // Yandex   1027700229193: 102770022919 → 9−1+9−2+2−0+0−7+7−2+0−1 = 14 ≡ 3 → 3
  // Edge     1027700132240: 102770013224 → 4−2+2−3+1−0+0−7+7−2+0−1 = −1 ≡ 10 → 10 mod 10 = 0
  it.each(['1027700132195', '1027700229193', '1027700132240'])('accepts the OGRN %s', (input) => {
    expect(validateOgrn(input)).toEqual(ok(input));
  });

  it.each([
    ['1027700132196', 'checksum'],
    ['1027700132241', 'checksum'],
    ['3027700132195', 'format'], // 3 marks an entrepreneur's record
    ['2027700132195', 'format'], // 2 marks a change record (GRN), not an OGRN
    ['102770013219', 'length'],
    ['304500116000157', 'length'],
    ['10277001321X5', 'format'],
    [' ', 'required'],
  ])('refuses the OGRN %s (%s)', (input, reason) => expect(validateOgrn(input)).toEqual(fails(reason)));

  // mod 13 by hand: 1000 ≡ −1 (mod 13, as 1001 = 7·11·13), so alternate 3-digit groups from the right.
  // 304500116000157: 30 450 011 600 015 → 15−600+11−450+30 = −994 = −77·13 + 7 → 7 → 7
  // 304500116000180: 30 450 011 600 018 → 18−600+11−450+30 = −991 ≡ 10 → 0
  // 304500116000191: 30 450 011 600 019 → 19−600+11−450+30 = −990 ≡ 11 → 1
  it.each(['304500116000157', '304500116000180', '304500116000191'])('accepts the OGRNIP %s', (input) => {
    expect(validateOgrnip(input)).toEqual(ok(input));
  });

  it.each([
    ['304500116000158', 'checksum'],
    ['304500116000181', 'checksum'],
    ['104500116000157', 'format'],
    ['30450011600015', 'length'],
    ['1027700132195', 'length'],
    ['3045001160001S7', 'format'],
  ])('refuses the OGRNIP %s (%s)', (input, reason) => expect(validateOgrnip(input)).toEqual(fails(reason)));
});

describe('dates', () => {
  it.each([
    ['01.02.1990', '1990-02-01'],
    ['1.2.1990', '1990-02-01'],
    [' 29.02.2000 ', '2000-02-29'],
    ['1990-02-01', '1990-02-01'],
    ['2024-02-29', '2024-02-29'],
    ['31.12.1999', '1999-12-31'],
  ])('parses %s', (input, value) => expect(parseDate(input)).toEqual(ok(value)));

  it.each([
    ['31.02.2000', 'impossible_date'],
    ['29.02.1900', 'impossible_date'], // 1900 is not a leap year
    ['29.02.2001', 'impossible_date'],
    ['31.04.2001', 'impossible_date'],
    ['2001-13-01', 'impossible_date'],
    ['00.01.2001', 'impossible_date'],
    ['01.01.0000', 'impossible_date'],
    ['01/02/1990', 'format'],
    ['1990-2-1', 'format'],
    ['01.02.90', 'format'],
    ['первое января', 'format'],
    ['', 'required'],
  ])('refuses %s (%s)', (input, reason) => expect(parseDate(input)).toEqual(fails(reason)));

  it('formats for Russian pages', () => expect(formatDateRu('1990-02-01')).toBe('01.02.1990'));

  it('counts age in whole years, changing on the birthday', () => {
    expect(ageOn('1990-06-15', '2024-06-14')).toBe(33);
    expect(ageOn('1990-06-15', '2024-06-15')).toBe(34);
    expect(ageOn('1990-06-15', '2024-12-31')).toBe(34);
    expect(ageOn('2024-01-01', '2024-01-01')).toBe(0);
  });

  it('ages someone born on 29 February on 28 February in a common year (Civil Code art. 192)', () => {
    expect(addYears('2008-02-29', 14)).toBe('2022-02-28');
    expect(addYears('2008-02-29', 16)).toBe('2024-02-29');
    expect(ageOn('2008-02-29', '2022-02-27')).toBe(13);
    expect(ageOn('2008-02-29', '2022-02-28')).toBe(14);
  });

  it('takes the calendar date in Moscow unless told otherwise', () => {
    const lateEvening = new Date('2024-12-31T21:30:00Z'); // 00:30 on 1 January in Moscow
    expect(calendarDate(lateEvening)).toBe('2025-01-01');
    expect(calendarDate(lateEvening, 'UTC')).toBe('2024-12-31');
  });

  describe('birth date', () => {
    const today = '2024-06-15';
    it('accepts an adult and someone turning 14 today', () => {
      expect(validateBirthDate('15.06.1990', { today })).toEqual(ok('1990-06-15'));
      expect(validateBirthDate('2010-06-15', { today })).toEqual(ok('2010-06-15'));
    });
    it('refuses someone a day short of 14', () => expect(validateBirthDate('16.06.2010', { today })).toEqual(fails('too_young')));
    it('accepts a child when no minimum age applies', () => expect(validateBirthDate('01.01.2020', { today, minAge: 0 })).toEqual(ok('2020-01-01')));
    it('refuses today and the future', () => {
      expect(validateBirthDate('15.06.2024', { today, minAge: 0 })).toEqual(fails('not_in_past'));
      expect(validateBirthDate('01.01.2030', { today })).toEqual(fails('not_in_past'));
    });
    it('refuses dates before 1900 and impossible ones', () => {
      expect(validateBirthDate('31.12.1899', { today })).toEqual(fails('out_of_range'));
      expect(validateBirthDate('30.02.1990', { today })).toEqual(fails('impossible_date'));
      expect(validateBirthDate(undefined, { today })).toEqual(fails('required'));
    });
  });

  describe('passport issue date', () => {
    const birthDate = '2000-03-10';
    const today = '2024-06-15';
    it('accepts the 14th birthday itself and later dates up to today', () => {
      expect(validatePassportIssueDate('10.03.2014', { birthDate, today })).toEqual(ok('2014-03-10'));
      expect(validatePassportIssueDate('2024-06-15', { birthDate, today })).toEqual(ok('2024-06-15'));
    });
    it('refuses a date before the 14th birthday', () => {
      expect(validatePassportIssueDate('09.03.2014', { birthDate, today })).toEqual(fails('before_age_14'));
    });
    it('refuses a date in the future', () => {
      expect(validatePassportIssueDate('16.06.2024', { birthDate, today })).toEqual(fails('in_future'));
    });
    it('uses 28 February as the 14th birthday of someone born on 29 February', () => {
      const leapling = { birthDate: '2008-02-29', today };
      expect(validatePassportIssueDate('28.02.2022', leapling)).toEqual(ok('2022-02-28'));
      expect(validatePassportIssueDate('27.02.2022', leapling)).toEqual(fails('before_age_14'));
    });
  });
});

describe('RF passport', () => {
  it.each([['4506', '4506'], ['45 06', '4506'], [' 45 06 ', '4506']])('accepts the series %s', (input, value) => {
    expect(validatePassportSeries(input)).toEqual(ok(value));
  });
  it.each([['450', 'length'], ['45061', 'length'], ['45-06', 'format'], ['45O6', 'format'], ['', 'required']])('refuses the series %s (%s)', (input, reason) => {
    expect(validatePassportSeries(input)).toEqual(fails(reason));
  });

  it.each([['123456', '123456'], ['123 456', '123456']])('accepts the number %s', (input, value) => expect(validatePassportNumber(input)).toEqual(ok(value)));
  it.each([['12345', 'length'], ['1234567', 'length'], ['12345б', 'format']])('refuses the number %s (%s)', (input, reason) => {
    expect(validatePassportNumber(input)).toEqual(fails(reason));
  });

  it.each([['770-001', '770-001'], ['770001', '770-001'], ['770 - 001', '770-001'], ['770 001', '770-001']])('accepts the division code %s', (input, value) => {
    expect(validateDivisionCode(input)).toEqual(ok(value));
  });
  it.each([['770-01', 'length'], ['7700011', 'length'], ['77-0001', 'format'], ['770_001', 'format'], ['ABC-DEF', 'format'], ['', 'required']])(
    'refuses the division code %s (%s)',
    (input, reason) => expect(validateDivisionCode(input)).toEqual(fails(reason)),
  );

  const context = { birthDate: '1990-06-15', today: '2024-06-15' };

  it('normalises a whole passport', () => {
    expect(validateRfPassport({ series: '45 06', number: '123456', divisionCode: '770001', issueDate: '20.06.2010' }, context)).toEqual({
      ok: true,
      value: { series: '4506', number: '123456', divisionCode: '770-001', issueDate: '2010-06-20' },
    });
  });

  it('reports every bad field of a passport at once', () => {
    expect(validateRfPassport({ series: '45', number: '123456', divisionCode: 'x', issueDate: '01.01.2000' }, context)).toEqual({
      ok: false,
      problems: [
        { field: 'series', reason: 'length' },
        { field: 'divisionCode', reason: 'format' },
        { field: 'issueDate', reason: 'before_age_14' },
      ],
    });
  });
});

describe('birth certificate', () => {
  it.each([
    ['IV-МЮ', 'IV-МЮ'],
    ['iv-мю', 'IV-МЮ'],
    ['XII МЮ', 'XII-МЮ'],
    ['I - АБ', 'I-АБ'],
    ['LXXIX-ЁЖ', 'LXXIX-ЁЖ'],
    ['ХIV-МЮ', 'XIV-МЮ'], // Cyrillic Х typed for the Latin X
    ['IV-MЮ', 'IV-МЮ'], // Latin M typed for the Cyrillic М
  ])('accepts the series %s', (input, value) => expect(validateBirthCertificateSeries(input)).toEqual(ok(value)));

  it.each(['IIII-МЮ', 'VX-МЮ', 'IV-МЮЯ', 'IV-М', 'IV-ЩZ', '4-МЮ', 'IVМЮ', 'ИВ-МЮ', 'IV-'])('refuses the series %s', (input) => {
    expect(validateBirthCertificateSeries(input)).toEqual(fails('format'));
  });

  it('checks the number is 6 digits', () => {
    expect(validateBirthCertificateNumber('123456')).toEqual(ok('123456'));
    expect(validateBirthCertificateNumber('12345')).toEqual(fails('length'));
    expect(validateBirthCertificateNumber('12345a')).toEqual(fails('format'));
  });
});

describe('gender', () => {
  it.each([['M', 'M'], ['m', 'M'], ['F', 'F'], ['f', 'F'], ['М', 'M'], ['ж', 'F'], [' F ', 'F']])('reads %s', (input, value) => {
    expect(validateGender(input)).toEqual(ok(value));
  });
  it.each([['X', 'format'], ['male', 'format'], ['', 'required']])('refuses %s (%s)', (input, reason) => expect(validateGender(input)).toEqual(fails(reason)));
});
