import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import type { BaselineConfig } from './baseline.ts';
import { childEnvironment, startServerProcess, type IdpProcess } from './idp-process.ts';
import type { BenchCitizen, BenchClient } from './seed.ts';

/**
 * Starts bench/baseline.ts (bare oidc-provider, in-memory adapter) as a child process with the
 * same relying parties, citizens, password hash and RS256 key as the IdP under test, and waits
 * until its discovery document answers.
 */
export async function startBaselineProcess(input: {
  clients: BenchClient[];
  citizens: BenchCitizen[];
  passwordHash: string;
  signingKey: JWK;
}): Promise<IdpProcess> {
  return startServerProcess({
    script: 'bench/baseline.ts',
    readyPath: '/.well-known/openid-configuration',
    env: (port, issuer) => {
      const config: BaselineConfig = {
        issuer,
        port,
        jwks: { keys: [input.signingKey as Record<string, unknown>] },
        cookieKeys: [randomBytes(32).toString('base64url')],
        clients: input.clients,
        accounts: input.citizens.map((c) => ({ login: c.login, sub: c.oid })),
        passwordHash: input.passwordHash,
      };
      // NODE_ENV=production silences oidc-provider's development warnings, as in a real deployment.
      return childEnvironment({ NODE_ENV: 'production', BASELINE_CONFIG: JSON.stringify(config) });
    },
  });
}
