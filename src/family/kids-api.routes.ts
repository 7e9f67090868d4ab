import Router from '@koa/router';
import type { PersonApiDeps } from '../rest/person.routes.ts';

/** Placeholder wired into app.ts: /rs/prns/{oid}/kids… */
export function kidsApiRoutes(_deps: PersonApiDeps): Router {
  return new Router();
}
