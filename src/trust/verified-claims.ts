import type { DbOrTrx } from '../db/database.ts';
import type { Citizen, CitizenDocument } from '../citizens/citizen.table.ts';

/**
 * OpenID Connect for Identity Assurance 1.0: `verified_claims` for standard and confirmed
 * accounts, released only when the RP asks for them through the `claims` parameter, and only the
 * claims that were actually verified (the name and the birth date, checked against the passport).
 */
export const TRUST_FRAMEWORK = 'ru_esia';
export const VERIFIABLE_CLAIMS = ['given_name', 'family_name', 'middle_name', 'birthdate'] as const;

export const IDA_DISCOVERY = {
  verified_claims_supported: true,
  trust_frameworks_supported: [TRUST_FRAMEWORK],
  evidence_supported: ['document'],
  documents_supported: ['idcard'],
  documents_check_methods_supported: ['data', 'vpip', 'pvp'],
  claims_in_verified_claims_supported: [...VERIFIABLE_CLAIMS],
} as const;

/** How and when the citizen's identity was verified: from the trail of level changes. */
export interface VerificationRecord {
  level: 'standard' | 'confirmed';
  time: Date;
  method: string;
  serviceCentre?: string;
}

export async function findVerificationRecord(db: DbOrTrx, citizen: Citizen): Promise<VerificationRecord | undefined> {
  if (citizen.trust_level === 'simplified') return undefined;
  const event = await db
    .selectFrom('audit_events')
    .select(['created_at', 'details'])
    .where('citizen_oid', '=', citizen.oid)
    .where('type', '=', 'trust_level.changed')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const details = (event?.details ?? {}) as { method?: string; serviceCentre?: string };
  return {
    level: citizen.trust_level,
    // Accounts created at a level (CLI, demo) have no change event: their creation is the verification.
    time: event?.created_at ?? citizen.created_at,
    method: details.method ?? 'operator_registration',
    serviceCentre: details.serviceCentre,
  };
}

type ClaimRequest = null | { essential?: boolean; value?: unknown; values?: unknown[] };
interface VerifiedClaimsRequest {
  verification?: Record<string, ClaimRequest>;
  claims?: Record<string, ClaimRequest>;
}

/**
 * Answers one `verified_claims` request (or an array of them) for the citizen, or undefined when
 * nothing requested can be stated as verified.
 */
export function answerVerifiedClaims(
  request: unknown,
  input: { citizen: Citizen; passport?: CitizenDocument; verification?: VerificationRecord },
): unknown {
  const requests = (Array.isArray(request) ? request : [request]).filter((r): r is VerifiedClaimsRequest => typeof r === 'object' && r !== null);
  const answers = requests.map((r) => answerOne(r, input)).filter((a) => a !== undefined);
  if (answers.length === 0) return undefined;
  return Array.isArray(request) ? answers : answers[0];
}

function answerOne(request: VerifiedClaimsRequest, { citizen, passport, verification }: { citizen: Citizen; passport?: CitizenDocument; verification?: VerificationRecord }) {
  if (!verification || passport?.vrf_status !== 'verified') return undefined;
  if (!matches(request.verification?.trust_framework, TRUST_FRAMEWORK)) return undefined;
  if (!matches(request.verification?.assurance_level, verification.level)) return undefined;

  const available: Record<string, string | undefined> = {
    given_name: citizen.first_name,
    family_name: citizen.last_name,
    middle_name: citizen.middle_name ?? undefined,
    birthdate: citizen.birth_date ?? undefined,
  };
  const asked = Object.keys(request.claims ?? {});
  const claims = Object.fromEntries(asked.filter((name) => available[name] !== undefined).map((name) => [name, available[name]]));
  if (Object.keys(claims).length === 0) return undefined;

  const inPerson = verification.level === 'confirmed' && verification.method === 'in_person';
  return {
    verification: {
      trust_framework: TRUST_FRAMEWORK,
      assurance_level: verification.level,
      time: verification.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      evidence: [
        {
          type: 'document',
          check_details: [
            { check_method: 'data', organization: 'МВД России' },
            ...(inPerson ? [{ check_method: 'vpip', ...(verification.serviceCentre ? { organization: verification.serviceCentre } : {}) }, { check_method: 'pvp' }] : []),
          ],
          document_details: {
            type: 'idcard',
            document_number: `${passport!.series}${passport!.number}`,
            date_of_issuance: passport!.issue_date,
            issuer: { name: passport!.issued_by, country_code: 'RUS' },
          },
        },
      ],
    },
    claims,
  };
}

/** A requested `value`/`values` constraint is met (no constraint always is). */
function matches(constraint: ClaimRequest | undefined, actual: string): boolean {
  if (!constraint) return true;
  if (constraint.value !== undefined) return constraint.value === actual;
  if (Array.isArray(constraint.values)) return constraint.values.includes(actual);
  return true;
}
