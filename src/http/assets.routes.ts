import { readFileSync } from 'node:fs';
import Router from '@koa/router';

/** The pages' stylesheet and their one small script, read once and served with a short cache. */
const ASSETS: Record<string, string> = { 'site.css': 'text/css', 'consent.js': 'text/javascript' };

export function assetRoutes(): Router {
  const router = new Router();
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    router.get(`/assets/${name}`, (ctx) => {
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = body;
    });
  }
  return router;
}
