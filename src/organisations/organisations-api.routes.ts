import Router from '@koa/router';
import type { PersonApiDeps } from '../rest/person.routes.ts';

/** Placeholder wired into app.ts: /rs/prns/{oid}/roles and /rs/orgs/{orgOid}. */
export function organisationsApiRoutes(_deps: PersonApiDeps): Router {
  return new Router();
}
