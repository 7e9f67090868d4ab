import { readFileSync } from 'node:fs';
import Router from '@koa/router';

/** The one stylesheet the pages use, read once and served with a long cache and a fixed name. */
export function assetRoutes(): Router {
  const css = readFileSync(new URL('./assets/site.css', import.meta.url));
  const router = new Router();
  router.get('/assets/site.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  return router;
}
