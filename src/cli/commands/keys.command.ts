import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Config } from '../../config/config.ts';
import { SIGNING_ALGORITHMS } from '../../oidc/keys.ts';
import { activateSigningKey, listSigningKeys, pruneRetiredKeys, stageSigningKey, type SigningKeyInfo } from '../../oidc/keys.service.ts';
import { systemClock } from '../../shared/clock.ts';
import { CliError, oneOf, optionalString, type CliCommand, type CommandArgs } from '../command.ts';
import { table, timestamp } from '../output.ts';

/**
 * Signing keys: listing (public information only) and the three rotation steps of
 * oidc/keys.service.ts. Keys given as a JWKS in SIGNING_KEYS are listed but rotated there.
 */

interface ConfiguredKey {
  kid: string;
  /** Null for a key without "alg": oidc-provider then uses it for any algorithm its type allows. */
  alg: string | null;
  kty: string | null;
}

const ALG_OPTION = { alg: { type: 'string' } } as const;
const ALG_HELP: [string, string] = ['--alg <alg>', `Only this algorithm: ${SIGNING_ALGORITHMS.join(', ')} (default: all)`];

export const keysListCommand: CliCommand = {
  name: 'keys list',
  summary: 'List the signing keys (public information only)',
  usage: '',
  description: [
    'Shows each key’s kid, algorithm, status and creation time — never key material.',
    'current: signs; next: published, signs after `keys activate`; retired: published until `keys prune`.',
    'With a JWKS in SIGNING_KEYS / SIGNING_KEYS_FILE the keys come from there instead.',
  ],
  options: {},
  async run(context) {
    const { signingKeys } = context.config;
    // The same choice the IdP makes when it loads its keys: configured keys win over stored ones.
    if (signingKeys) {
      const keys = await configuredKeys(signingKeys as JWK[]);
      return {
        json: { source: 'config', keys },
        text: `${table(['KID', 'ALG'], keys.map((k) => [k.kid, k.alg ?? `- (${k.kty ?? '?'} key)`]))}\nSource: SIGNING_KEYS configuration`,
      };
    }
    const keys = await listSigningKeys(await context.database());
    return {
      json: { source: 'database', keys },
      text: keys.length
        ? `${table(['KID', 'ALG', 'STATUS', 'CREATED'], keys.map((k) => [k.kid, k.alg, k.status, timestamp(k.createdAt)]))}\nSource: database`
        : 'No signing keys yet: the IdP generates them when it first starts.',
    };
  },
};

export const keysRotateCommand: CliCommand = {
  name: 'keys rotate',
  summary: 'Stage new signing keys: published in the JWKS, not signing yet',
  usage: '[--alg <alg>]',
  description: [
    'Step 1 of 3. Relying parties that cache the JWKS learn the new key before any token carries it.',
    'Then, after KEY_PUBLISH_SECONDS: `keys activate`.',
  ],
  optionHelp: [ALG_HELP],
  options: ALG_OPTION,
  async run(context, args) {
    assertKeysInDatabase(context.config);
    const algs = selectedAlgorithms(args, 'keys rotate');
    const runtime = await context.runtime();
    const db = runtime.database.db;
    // Refuse before staging anything, so a half-done rotation is never left behind.
    const alreadyStaged = (await listSigningKeys(db)).filter((k) => k.status === 'next' && algs.includes(k.alg));
    if (alreadyStaged.length) {
      throw new CliError('keys.already_staged', `already staged, not yet active: ${describeKeys(alreadyStaged)}; run \`keys activate\` first`);
    }
    const staged: SigningKeyInfo[] = [];
    for (const alg of algs) staged.push(await stageSigningKey(db, runtime.secrets.secretBox, alg, systemClock.now()));
    const publishMinutes = Math.ceil(context.config.keys.publishSeconds / 60);
    return {
      json: { staged },
      text: [
        `Staged ${staged.length} key(s), published from now on but not signing yet:`,
        table(['KID', 'ALG'], staged.map((k) => [k.kid, k.alg])).replace(/^/gm, '  '),
        `Next: \`npm run cli -- keys activate\` once they have been published for ${publishMinutes} min (KEY_PUBLISH_SECONDS).`,
      ].join('\n'),
    };
  },
};

export const keysActivateCommand: CliCommand = {
  name: 'keys activate',
  summary: 'Make the staged keys sign; the keys they replace are retired',
  usage: '[--alg <alg>] [--force]',
  description: [
    'Step 2 of 3. Retired keys stay published, so tokens they signed keep verifying.',
    'Refuses keys published for less than KEY_PUBLISH_SECONDS unless --force.',
  ],
  optionHelp: [ALG_HELP, ['--force', 'Activate even if published for less than KEY_PUBLISH_SECONDS']],
  options: { ...ALG_OPTION, force: { type: 'boolean' } },
  async run(context, args) {
    assertKeysInDatabase(context.config);
    const algs = selectedAlgorithms(args, 'keys activate');
    const db = await context.database();
    const staged = (await listSigningKeys(db)).filter((k) => k.status === 'next' && algs.includes(k.alg));
    if (staged.length === 0) throw new CliError('keys.nothing_staged', 'no staged keys to activate: run `keys rotate` first');
    const now = systemClock.now();
    const { publishSeconds } = context.config.keys;
    const tooYoung = staged.filter((k) => (now.getTime() - k.createdAt.getTime()) / 1000 < publishSeconds);
    if (tooYoung.length && args.values.force !== true) {
      const wait = Math.max(...tooYoung.map((k) => Math.ceil(publishSeconds - (now.getTime() - k.createdAt.getTime()) / 1000)));
      throw new CliError('keys.not_published_long_enough', `staged keys have not been published for KEY_PUBLISH_SECONDS (${publishSeconds} s) yet: wait ${wait} s more (RPs cache the JWKS), or pass --force`);
    }
    const results: Array<{ alg: string; activated: string; retired?: string }> = [];
    for (const key of staged) {
      results.push({ alg: key.alg, ...(await activateSigningKey(db, key.alg, { now, publishSeconds, force: args.values.force === true })) });
    }
    return {
      json: { activated: results },
      text: [
        `Activated ${results.length} key(s); every instance signs with them within KEYS_REFRESH_SECONDS:`,
        table(['ALG', 'NOW SIGNING', 'RETIRED'], results.map((r) => [r.alg, r.activated, r.retired ?? '-'])).replace(/^/gm, '  '),
        'Retired keys stay published until `npm run cli -- keys prune` removes them.',
      ].join('\n'),
    };
  },
};

export const keysPruneCommand: CliCommand = {
  name: 'keys prune',
  summary: 'Remove retired keys no unexpired token can still need',
  usage: '',
  description: [
    'Step 3 of 3. A retired key goes once the longest lifetime of a token it may have signed',
    '(ID_TOKEN_TTL, ACCESS_TOKEN_TTL) has passed since it was retired.',
  ],
  options: {},
  async run(context) {
    assertKeysInDatabase(context.config);
    const longestTokenSeconds = Math.max(context.config.ttl.idToken, context.config.ttl.accessToken);
    const removed = await pruneRetiredKeys(await context.database(), { now: systemClock.now(), longestTokenSeconds });
    return {
      json: { removed },
      text: removed.length ? `Removed ${removed.length} retired key(s): ${removed.join(', ')}` : 'No retired keys old enough to remove.',
    };
  },
};

function assertKeysInDatabase(config: Config): void {
  if (config.signingKeys) {
    throw new CliError('keys.configured', 'the signing keys come from SIGNING_KEYS / SIGNING_KEYS_FILE: rotate them there (or use SIGNING_KEYS=database)');
  }
}

function selectedAlgorithms(args: CommandArgs, command: string): string[] {
  const alg = oneOf(optionalString(args, 'alg', command), SIGNING_ALGORITHMS, 'alg', command);
  return alg ? [alg] : [...SIGNING_ALGORITHMS];
}

function describeKeys(keys: SigningKeyInfo[]): string {
  return keys.map((k) => `${k.alg} ${k.kid}`).join(', ');
}

async function configuredKeys(jwks: JWK[]): Promise<ConfiguredKey[]> {
  // oidc-provider names a key without "kid" by its RFC 7638 thumbprint; show the kid it publishes.
  return Promise.all(jwks.map(async (jwk) => ({ kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)), alg: jwk.alg ?? null, kty: jwk.kty ?? null })));
}
