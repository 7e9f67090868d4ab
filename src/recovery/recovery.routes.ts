import Router from '@koa/router';
import type { PageDeps } from '../app.ts';

/** Routes for password recovery and forgotten login (/recovery). */
export function recoveryRoutes(_deps: PageDeps): Router {
  return new Router();
}
