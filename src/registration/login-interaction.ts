import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { finish, loadInteraction, type Interaction } from '../interactions/interaction-helpers.ts';

/**
 * Registration inside an OIDC authorization (/interaction/:uid/register) is a detour from the
 * login prompt: the interaction must be this browser's (oidc-provider checks the `_interaction`
 * cookie, whose path covers /interaction/:uid/…), match the URL and still be at "login".
 */
export type LoginInteraction = Interaction;

export function loadLoginInteraction(provider: Provider, ctx: Context): Promise<LoginInteraction> {
  return loadInteraction(provider, ctx, 'login');
}

/** Signs the new citizen in for this authorization and sends the browser on (to consent, then the RP). */
export function finishLoginAsNewCitizen(ctx: Context, provider: Provider, citizenOid: string): Promise<void> {
  return finish(ctx, provider, { login: { accountId: citizenOid, amr: ['pwd'], acr: 'simplified' } }, false);
}
