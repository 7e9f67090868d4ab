import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

/**
 * Mos.ru's own pages, in its own nunjucks environment (it shares nothing with the IdP's).
 * Autoescape is on and no template uses `| safe`: everything shown came from the IdP.
 */
const VIEWS_DIR = fileURLToPath(new URL('./views', import.meta.url));

export type RenderView = (template: string, context?: Record<string, unknown>) => string;

export function createMosruViews(): RenderView {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR), { autoescape: true, throwOnUndefined: false });
  return (template, context = {}) => env.render(template, context);
}
