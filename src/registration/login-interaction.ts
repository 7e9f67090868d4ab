import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { AppError } from '../shared/app-error.ts';

/**
 * Registration inside an OIDC authorization (/interaction/:uid/register) is a detour from the
 * login prompt: the interaction must be this browser's (oidc-provider checks the `_interaction`
 * cookie, whose path covers /interaction/:uid/…), match the URL and still be at "login".
 * (interaction.routes.ts has the same check privately; exporting it there would remove this copy.)
 */
export type LoginInteraction = Awaited<ReturnType<Provider['interactionDetails']>>;

export async function loadLoginInteraction(provider: Provider, ctx: Context): Promise<LoginInteraction> {
  let interaction: LoginInteraction;
  try {
    interaction = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    if (error instanceof errors.SessionNotFound || error instanceof errors.InvalidRequest) throw new AppError('error.session_expired', 400);
    throw error;
  }
  if (interaction.uid !== ctx.params.uid) throw new AppError('error.session_expired', 400);
  if (interaction.prompt.name !== 'login') throw new AppError('error.bad_request', 400, 'this step is already done');
  return interaction;
}

/** Signs the new citizen in for this authorization and sends the browser on (to consent, then the RP). */
export async function finishLoginAsNewCitizen(ctx: Context, provider: Provider, citizenOid: string): Promise<void> {
  const redirectTo = await provider.interactionResult(
    ctx.req, ctx.res,
    { login: { accountId: citizenOid, amr: ['pwd'], acr: 'simplified' } },
    { mergeWithLastSubmission: false },
  );
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
