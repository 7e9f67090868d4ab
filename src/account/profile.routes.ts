import Router from '@koa/router';
import type { PageDeps } from '../app.ts';

/** Routes for the citizen's identity data pages (/account/personal, /account/documents, /account/contacts, /account/addresses). */
export function profileRoutes(_deps: PageDeps): Router {
  return new Router();
}
