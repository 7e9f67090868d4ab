import Router from '@koa/router';
import type { PageDeps } from '../app.ts';
import { identityRoutes } from './identity.routes.ts';
import { contactsRoutes } from './contacts.routes.ts';

/** Routes for the citizen's identity data pages (/account/personal, /account/documents, /account/contacts, /account/addresses). */
export function profileRoutes(deps: PageDeps): Router {
  const router = new Router();
  for (const area of [identityRoutes(deps), contactsRoutes(deps)]) router.use(area.routes(), area.allowedMethods());
  return router;
}
