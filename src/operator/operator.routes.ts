import Router from '@koa/router';
import type { PageDeps } from '../app.ts';

/** Routes for the service-centre operator's pages (/operator). */
export function operatorRoutes(_deps: PageDeps): Router {
  return new Router();
}
