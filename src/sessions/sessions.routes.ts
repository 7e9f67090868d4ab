import Router from '@koa/router';
import type { PageDeps } from '../app.ts';
import { securityRoutes } from './security.routes.ts';
import { accountDeletionRoutes } from './account-deletion.routes.ts';

/** The pages of this area: /account/security/{sessions,password,notifications} and /account/delete. */
export function sessionsRoutes(deps: PageDeps): Router {
  const router = new Router();
  for (const area of [securityRoutes(deps), accountDeletionRoutes(deps)]) router.use(area.routes(), area.allowedMethods());
  return router;
}
