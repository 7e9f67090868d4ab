import { ageOn, calendarDate, formatDateRu, formatSnils, MIN_ACCOUNT_AGE } from '../shared/validators.ts';
import { isAdultOn } from './child-form.ts';
import type { ParentLink } from './children.repository.ts';
import type { Child } from './family.tables.ts';

/** What /account/children shows for each record: plain values and message keys, no logic in the template. */
export interface ChildView {
  id: string;
  fullName: string;
  birthDate: string;
  gender: 'M' | 'F';
  snils: string | null;
  certificate: string;
  status: Child['check_status'];
  /** `family.reason.<code>` when the registry did not confirm the record. */
  reasonKey: string | null;
  /** `family.field.<name>` of the fields to compare with the certificate. */
  checkFieldKeys: string[];
  /** The account link as the parent sees it: `family.link.<state>`. */
  linkKey: string | null;
  linkState: Child['link_state'];
  /** 18 or older today: listed under «Совершеннолетние», no longer reported to relying parties, not offered a link. */
  adult: boolean;
  canEdit: boolean;
  canRemove: boolean;
  canRequestLink: boolean;
  canUnlink: boolean;
}

/** Fields to compare when the registry found no such certificate naming this parent. */
const CERTIFICATE_FIELDS = ['cert_series', 'cert_number', 'parent'];

export function childView(child: Child, now: Date): ChildView {
  const verified = child.check_status === 'verified';
  const today = calendarDate(now);
  const old = ageOn(child.birth_date, today) >= MIN_ACCOUNT_AGE;
  const adult = isAdultOn(child.birth_date, today);
  const fields = child.reason_code === 'certificate_not_found' ? CERTIFICATE_FIELDS : child.reason_code === 'data_mismatch' ? child.mismatched_fields ?? [] : [];
  return {
    id: child.id,
    fullName: [child.last_name, child.first_name, child.middle_name].filter(Boolean).join(' '),
    birthDate: formatDateRu(child.birth_date),
    gender: child.gender,
    snils: child.snils ? formatSnils(child.snils) : null,
    certificate: `${child.cert_series} № ${child.cert_number}, ${formatDateRu(child.cert_issue_date)}, ${child.cert_issued_by}`,
    status: child.check_status,
    reasonKey: child.reason_code ? `family.reason.${child.reason_code}` : null,
    checkFieldKeys: fields.map((field) => `family.field.${field}`),
    linkKey: !verified ? null : child.link_state ? `family.link.${child.link_state}` : old ? 'family.link.no_account' : 'family.link.under_14',
    linkState: child.link_state,
    adult,
    // The form takes only minors, so an adult's unconfirmed record can be removed, not corrected.
    canEdit: !adult && (child.check_status === 'not_found' || child.check_status === 'failed'),
    canRemove: child.link_state !== 'linked',
    canRequestLink: verified && old && !adult && (child.link_state === null || child.link_state === 'declined' || child.link_state === 'unlinked'),
    canUnlink: child.link_state === 'linked',
  };
}

export interface ParentLinkView {
  childId: string;
  state: ParentLink['state'];
  parentName: string;
  since: string | null;
}

export function parentLinkView(link: ParentLink): ParentLinkView {
  return {
    childId: link.childId,
    state: link.state,
    parentName: [link.parent.lastName, link.parent.firstName, link.parent.middleName].filter(Boolean).join(' '),
    since: link.changedAt ? formatDateRu(calendarDate(link.changedAt)) : null,
  };
}
