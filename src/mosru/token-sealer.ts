import { hkdfSync } from 'node:crypto';
import { createSecretBox, type SecretBox } from '../shared/secret-box.ts';

/**
 * Refresh tokens are stored sealed (AES-256-GCM): a copy of the table alone does not let anybody
 * read a citizen's data at the IdP. The key is given (`tokenKey`, 32 bytes) or derived from the
 * client secret, so the demo needs no extra setting; a new secret then makes old tokens unreadable,
 * which Mos.ru treats like a revoked binding.
 */
export function createTokenSealer(options: { tokenKey?: Buffer; clientSecret: string }): SecretBox {
  const key = options.tokenKey ?? Buffer.from(hkdfSync('sha256', options.clientSecret, 'mosru', 'mosru refresh-token sealing v1', 32));
  return createSecretBox(key);
}
