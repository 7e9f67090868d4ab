import Router from '@koa/router';
import type { PageDeps } from '../app.ts';

/** Routes for registration (/registration, /interaction/:uid/register). */
export function registrationRoutes(_deps: PageDeps): Router {
  return new Router();
}
