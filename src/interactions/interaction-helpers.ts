import type { Context } from 'koa';
import Provider, { errors, type InteractionResults } from 'oidc-provider';
import { AppError } from '../shared/app-error.ts';
import { pickLocale, type Locale } from '../http/i18n.ts';

/** What the interaction pages share: finding this browser's interaction and reporting its result. */
export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The interaction bound to this browser's cookie, checked against the URL and the expected prompt. */
export async function loadInteraction(provider: Provider, ctx: Context, expectedPrompt?: string): Promise<Interaction> {
  let interaction: Interaction;
  try {
    interaction = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    if (error instanceof errors.SessionNotFound || error instanceof errors.InvalidRequest) throw new AppError('error.session_expired', 400);
    throw error;
  }
  if (interaction.uid !== ctx.params.uid) throw new AppError('error.session_expired', 400);
  if (expectedPrompt && interaction.prompt.name !== expectedPrompt) throw new AppError('error.bad_request', 400, 'this step is already done');
  return interaction;
}

export async function finish(ctx: Context, provider: Provider, result: InteractionResults, merge: boolean): Promise<void> {
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}

export async function clientOf(provider: Provider, interaction: Interaction): Promise<{ id: string; name: string }> {
  const id = String(interaction.params.client_id);
  const client = await provider.Client.find(id);
  return { id, name: client?.clientName ?? id };
}

export function localeOf(interaction: Interaction): Locale {
  return pickLocale(interaction.params.ui_locales);
}

export function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
}

export function bodyField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}
