import Router from '@koa/router';
import type { PageDeps } from '../app.ts';

/** Routes for the development outbox page (/dev/outbox). */
export function devOutboxRoutes(_deps: PageDeps): Router {
  return new Router();
}
