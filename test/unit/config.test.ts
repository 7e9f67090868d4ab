import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('starts in development with nothing set: embedded database, demo on, issuer from the port', () => {
    const config = loadConfig({ PORT: '3100' });
    expect(config.issuer).toBe('http://localhost:3100');
    expect(config.database).toEqual({ embedded: true, dataDir: './data' });
    expect(config.demo).toBe(true);
    expect(config.argon2).toEqual({ memoryKib: 19456, timeCost: 2, parallelism: 1 });
    expect(config.ttl.accessToken).toBe(3600);
    expect(config.ttl.idToken).toBe(10800);
  });

  it('refuses production without each required secret, naming every one at once', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    for (const setting of ['ISSUER', 'DATABASE_URL', 'COOKIE_KEYS', 'SIGNING_KEYS', 'ENCRYPTION_KEY', 'SMTP_URL or SMS_GATEWAY_URL']) {
      expect(problems.some((p) => p.startsWith(setting))).toBe(true);
    }
    expect(problems).toHaveLength(6);
  });

  it('reports type errors together with missing production settings', () => {
    const problems = problemsOf({ NODE_ENV: 'production', PORT: 'eighty', ISSUER: 'https://id.example.ru' });
    expect(problems.some((p) => p.startsWith('PORT'))).toBe(true);
    expect(problems.some((p) => p.startsWith('DATABASE_URL'))).toBe(true);
  });

  it('never enables demo data in production', () => {
    expect(problemsOf({ NODE_ENV: 'production', DEMO: '1' })).toContain('DEMO: demo data cannot be enabled in production');
  });

  it('accepts a complete production configuration and keeps demo off', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      ISSUER: 'https://id.example.ru/',
      DATABASE_URL: 'postgres://idp@db/idp',
      COOKIE_KEYS: `${'a'.repeat(32)},${'b'.repeat(32)}`,
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      SIGNING_KEYS: JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }] }),
      SMTP_URL: 'smtp://mail.example.ru:587',
    });
    expect(config.notifications.devOutbox).toBe(false);
    expect(config.issuer).toBe('https://id.example.ru');
    expect(config.demo).toBe(false);
    expect(config.cookieKeys).toHaveLength(2);
  });

  it('rejects an http issuer, short cookie keys, a wrong-size encryption key and public signing keys', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      ISSUER: 'http://id.example.ru',
      DATABASE_URL: 'postgres://idp@db/idp',
      COOKIE_KEYS: 'short',
      ENCRYPTION_KEY: Buffer.alloc(16).toString('base64'),
      SIGNING_KEYS: JSON.stringify({ keys: [{ kty: 'RSA', n: 'n', e: 'AQAB' }] }),
    });
    expect(problems.join('\n')).toMatch(/ISSUER: must be https/);
    expect(problems.join('\n')).toMatch(/COOKIE_KEYS: each key must be at least 32/);
    expect(problems.join('\n')).toMatch(/ENCRYPTION_KEY: must be 32 bytes/);
    expect(problems.join('\n')).toMatch(/SIGNING_KEYS: must be a JWKS of private keys/);
  });

  it('rejects values of the wrong type with the variable named', () => {
    expect(problemsOf({ PORT: '70000' })[0]).toMatch(/^PORT/);
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })[0]).toMatch(/^DATABASE_URL: must be a postgres/);
    expect(problemsOf({ DEMO: 'maybe' })[0]).toMatch(/^DEMO/);
  });
});
