import Router from '@koa/router';
import type { PageDeps } from '../app.ts';

/** Placeholder wired into app.ts; the area's pages replace it. */
export function powersRoutes(_deps: PageDeps): Router {
  return new Router();
}
