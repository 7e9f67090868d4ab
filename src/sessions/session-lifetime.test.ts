import { describe, expect, it } from 'vitest';
import { createSessionTtl, sessionTtlSeconds } from './session-lifetime.ts';
import { loadConfig } from '../config/config.ts';

const limits = { idleSeconds: 1800, absoluteSeconds: 12 * 3600 };
const signedIn = 1_800_000_000;

describe('session lifetime (ttl.Session)', () => {
  it('gives a fresh session the idle timeout', () => {
    expect(sessionTtlSeconds(limits, signedIn, signedIn)).toBe(1800);
  });

  it('slides: a session used 11 hours after sign-in still gets the full idle timeout', () => {
    expect(sessionTtlSeconds(limits, signedIn, signedIn + 11 * 3600)).toBe(1800);
  });

  it('never reaches past the absolute lifetime counted from sign-in', () => {
    expect(sessionTtlSeconds(limits, signedIn, signedIn + 12 * 3600 - 600)).toBe(600);
    // oidc-provider needs a positive number; such a session is already expired and never found again.
    expect(sessionTtlSeconds(limits, signedIn, signedIn + 13 * 3600)).toBe(1);
  });

  it('uses the idle timeout for a session nobody signed in to yet, and never more than the absolute lifetime', () => {
    expect(sessionTtlSeconds(limits, undefined, signedIn)).toBe(1800);
    expect(sessionTtlSeconds({ idleSeconds: 7200, absoluteSeconds: 3600 }, undefined, signedIn)).toBe(3600);
  });

  it('measures the age on the clock loginTs is on', () => {
    let now = signedIn;
    const ttl = createSessionTtl(limits, () => now);
    expect(ttl(undefined, { loginTs: signedIn })).toBe(1800);
    now = signedIn + 12 * 3600 - 60;
    expect(ttl(undefined, { loginTs: signedIn })).toBe(60);
  });
});

describe('SESSION_IDLE_TTL', () => {
  const config = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'development', ...env }).ttl;

  it('is 30 minutes by default, beside the 12-hour SESSION_TTL', () => {
    expect(config({})).toMatchObject({ sessionIdle: 1800, session: 43200 });
  });

  it('is never longer than SESSION_TTL', () => {
    expect(config({ SESSION_IDLE_TTL: '7200', SESSION_TTL: '3600' }).sessionIdle).toBe(3600);
  });

  it('is the same in every environment (tests that need long sessions set it)', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).ttl.sessionIdle).toBe(1800);
    expect(loadConfig({ NODE_ENV: 'test', SESSION_IDLE_TTL: '600' }).ttl.sessionIdle).toBe(600);
  });

  it('refuses less than a minute', () => {
    expect(() => loadConfig({ SESSION_IDLE_TTL: '30' })).toThrow(/SESSION_IDLE_TTL/);
  });
});
