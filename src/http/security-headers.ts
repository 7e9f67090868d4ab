import type { Middleware } from 'koa';

/**
 * Headers every response carries. Pages load only our own stylesheet and scripts (no inline code); nothing may
 * frame them (clickjacking on the login and consent pages). HSTS only when served over https.
 */
export function securityHeaders(options: { production: boolean }): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    if (ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
    }
    if (options.production) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  };
}
