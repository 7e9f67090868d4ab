import type { Kysely, Transaction } from 'kysely';
import type { CitizenAddressesTable, CitizenDocumentsTable, CitizensTable } from '../citizens/citizen.table.ts';
import type { GrantActivityTable, InstanceSecretsTable, OidcClientsTable, OidcPayloadsTable, SigningKeysTable } from '../oidc/oidc.tables.ts';
import type { OneTimeCodesTable } from '../codes/codes.table.ts';
import type { OutboxMessagesTable } from '../notifications/outbox.table.ts';
import type { RegistrationFlowsTable } from '../registration/registration.table.ts';
import type { RecoveryFlowsTable } from '../recovery/recovery.table.ts';
import type { ContactChangeFlowsTable } from '../account/account.tables.ts';
import type { ConfirmationLettersTable, MockRegistryPersonsTable, RegistryChecksTable } from '../verification/verification.tables.ts';
import type { StaffRolesTable } from '../operator/operator.table.ts';
import type { AuditEventsTable } from '../audit/audit.table.ts';
import type { NotificationPreferencesTable, SessionDevicesTable } from '../sessions/sessions.tables.ts';
import type { LoginAttemptsTable, LoginThrottlesTable, PendingLoginsTable, RateLimitsTable, RecoveryCodesTable, SecondFactorsTable } from '../security/security.tables.ts';
import type { ChildrenTable, MockCivilRegistryRecordsTable } from '../family/family.tables.ts';
import type { PowersOfAttorneyTable } from '../powers/powers.table.ts';
import type { ActingChoicesTable } from '../acting/acting.tables.ts';
import type { OrganisationInvitationsTable, OrganisationMembersTable, OrganisationsTable } from '../organisations/organisations.tables.ts';
import type { AccountMergesTable, MergeFlowsTable, MergeMovedRowsTable } from '../merge/merge.tables.ts';

/** Every table, composed from the areas that own them. */
export interface Database {
  citizens: CitizensTable;
  citizen_documents: CitizenDocumentsTable;
  citizen_addresses: CitizenAddressesTable;
  oidc_payloads: OidcPayloadsTable;
  oidc_clients: OidcClientsTable;
  signing_keys: SigningKeysTable;
  instance_secrets: InstanceSecretsTable;
  grant_activity: GrantActivityTable;
  one_time_codes: OneTimeCodesTable;
  outbox_messages: OutboxMessagesTable;
  registration_flows: RegistrationFlowsTable;
  recovery_flows: RecoveryFlowsTable;
  contact_change_flows: ContactChangeFlowsTable;
  registry_checks: RegistryChecksTable;
  mock_registry_persons: MockRegistryPersonsTable;
  confirmation_letters: ConfirmationLettersTable;
  staff_roles: StaffRolesTable;
  audit_events: AuditEventsTable;
  second_factors: SecondFactorsTable;
  recovery_codes: RecoveryCodesTable;
  pending_logins: PendingLoginsTable;
  login_throttles: LoginThrottlesTable;
  rate_limits: RateLimitsTable;
  login_attempts: LoginAttemptsTable;
  session_devices: SessionDevicesTable;
  notification_preferences: NotificationPreferencesTable;
  children: ChildrenTable;
  mock_civil_registry_records: MockCivilRegistryRecordsTable;
  powers_of_attorney: PowersOfAttorneyTable;
  acting_choices: ActingChoicesTable;
  organisations: OrganisationsTable;
  organisation_members: OrganisationMembersTable;
  organisation_invitations: OrganisationInvitationsTable;
  merge_flows: MergeFlowsTable;
  account_merges: AccountMergesTable;
  merge_moved_rows: MergeMovedRowsTable;
}

export type Db = Kysely<Database>;
/** A repository function accepts either the database or a transaction, so use cases decide the boundary. */
export type DbOrTrx = Kysely<Database> | Transaction<Database>;
