import Router from '@koa/router';
import type { PageDeps } from '../app.ts';

/** Routes for registry checks and the confirmation letter (/account/verification). */
export function verificationRoutes(_deps: PageDeps): Router {
  return new Router();
}
