import { AppError } from '../shared/app-error.ts';
import type { PoaState } from './powers.table.ts';

/**
 * The life of a power of attorney:
 *
 *   draft ──activate──▶ active ──revoke / renounce──▶ revoked
 *     │                   └──────expire (valid_to passed)──▶ expired
 *     └──discard──▶ (row deleted)
 *
 * Everything else is refused. Pure: the use cases apply a transition with a conditional
 * `UPDATE … WHERE state = <from>`, and ask this module what to tell the citizen when it matched nothing.
 */
export const POWER_TRANSITIONS = {
  activate: { from: 'draft', to: 'active' },
  discard: { from: 'draft', to: 'discarded' },
  revoke: { from: 'active', to: 'revoked' },
  renounce: { from: 'active', to: 'revoked' },
  expire: { from: 'active', to: 'expired' },
} as const satisfies Record<string, { from: PoaState; to: PoaState | 'discarded' }>;

export type PowerTransition = keyof typeof POWER_TRANSITIONS;

/**
 * The state a citizen sees: an active power past its end is expired even before the sweeper marks it,
 * so reads never depend on the sweeper's pace.
 */
export function effectiveState(power: { state: PoaState; validTo: Date }, now: Date): PoaState {
  return power.state === 'active' && power.validTo.getTime() <= now.getTime() ? 'expired' : power.state;
}

/** Whether `transition` may start from a power in (effective) `state`. */
export function canApply(transition: PowerTransition, state: PoaState): boolean {
  return POWER_TRANSITIONS[transition].from === state;
}

/** A transition the power's state does not allow; `code` names why, for the page and the API. */
export class PowerStateError extends AppError {
  readonly transition: PowerTransition;
  readonly state: PoaState;

  constructor(transition: PowerTransition, state: PoaState) {
    const code = REFUSALS[state];
    super(code, 409, `cannot ${transition} a power of attorney that is ${state}`, { transition, state });
    this.name = 'PowerStateError';
    this.transition = transition;
    this.state = state;
  }
}

/** Why nothing can be done from a state (the one allowed transition from it being another). */
const REFUSALS: Record<PoaState, string> = {
  draft: 'powers.refused.draft',
  active: 'powers.refused.active',
  expired: 'powers.refused.expired',
  revoked: 'powers.refused.revoked',
};

/** Throws PowerStateError unless the transition may start from `state`. */
export function assertTransition(transition: PowerTransition, state: PoaState): void {
  if (!canApply(transition, state)) throw new PowerStateError(transition, state);
}
