import type { Kysely, Transaction } from 'kysely';
import type { CitizensTable } from '../citizens/citizen.table.ts';
import type { OidcClientsTable, OidcPayloadsTable, SigningKeysTable, InstanceSecretsTable } from '../oidc/oidc.tables.ts';

/** Every table, composed from the areas that own them. */
export interface Database {
  citizens: CitizensTable;
  oidc_payloads: OidcPayloadsTable;
  oidc_clients: OidcClientsTable;
  signing_keys: SigningKeysTable;
  instance_secrets: InstanceSecretsTable;
}

export type Db = Kysely<Database>;
/** A repository function accepts either the database or a transaction, so use cases decide the boundary. */
export type DbOrTrx = Kysely<Database> | Transaction<Database>;
