import { describe, expect, it } from 'vitest';
import { assertTransition, canApply, effectiveState, POWER_TRANSITIONS, PowerStateError, type PowerTransition } from './power-states.ts';
import { POA_STATES, type PoaState } from './powers.table.ts';

describe('power of attorney state machine', () => {
  const allowed: Array<[PowerTransition, PoaState]> = [
    ['activate', 'draft'],
    ['discard', 'draft'],
    ['revoke', 'active'],
    ['renounce', 'active'],
    ['expire', 'active'],
  ];

  it.each(allowed)('allows %s from %s', (transition, state) => {
    expect(canApply(transition, state)).toBe(true);
    expect(() => assertTransition(transition, state)).not.toThrow();
  });

  const refused = (Object.keys(POWER_TRANSITIONS) as PowerTransition[]).flatMap((transition) =>
    POA_STATES.filter((state) => !allowed.some(([t, s]) => t === transition && s === state)).map((state) => [transition, state] as [PowerTransition, PoaState]),
  );

  it('refuses every other pair (16 of them), with a 409 that names the current state', () => {
    expect(refused).toHaveLength(POA_STATES.length * Object.keys(POWER_TRANSITIONS).length - allowed.length);
    for (const [transition, state] of refused) {
      expect(canApply(transition, state)).toBe(false);
      let error: unknown;
      try {
        assertTransition(transition, state);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(PowerStateError);
      expect(error).toMatchObject({ status: 409, code: `powers.refused.${state}`, transition, state });
    }
  });

  it('reads an active power past its end as expired, and nothing else changes', () => {
    const end = new Date('2026-06-01T00:00:00Z');
    expect(effectiveState({ state: 'active', validTo: end }, new Date('2026-05-31T23:59:59.999Z'))).toBe('active');
    expect(effectiveState({ state: 'active', validTo: end }, end)).toBe('expired');
    for (const state of ['draft', 'revoked', 'expired'] as const) expect(effectiveState({ state, validTo: end }, new Date('2027-01-01T00:00:00Z'))).toBe(state);
  });
});
