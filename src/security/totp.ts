import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/**
 * TOTP (RFC 6238) as authenticator apps expect it: SHA-1, 6 digits, 30-second steps, a 160-bit
 * Base32 secret. A code is accepted for the current step or one step either side (clock drift), and
 * only for a step later than the last one accepted, so a code seen over a shoulder cannot be reused.
 */
export const TOTP_PERIOD_SECONDS = 30;
const ISSUER = 'Госуслуги';

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an app scans, and the same as a PNG data: URL (the CSP allows img-src data:). */
export async function totpProvisioning(secret: string, accountLabel: string): Promise<{ uri: string; qrDataUrl: string }> {
  const uri = generateURI({ issuer: ISSUER, label: accountLabel, secret });
  const qrDataUrl = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 1, width: 220 });
  return { uri, qrDataUrl };
}

/** The secret in groups of four, easier to type into an app by hand. */
export function groupedSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reused: boolean };

export async function checkTotp(secret: string, typed: string, now: Date, lastStep: number | null): Promise<TotpCheck> {
  const token = typed.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return { ok: false, reused: false };
  const result = await verify({ secret, token, epoch: Math.floor(now.getTime() / 1000), epochTolerance: TOTP_PERIOD_SECONDS });
  // The functional API's result type covers HOTP too; a TOTP match always names its time step.
  if (!result.valid || !('timeStep' in result)) return { ok: false, reused: false };
  if (lastStep !== null && result.timeStep <= lastStep) return { ok: false, reused: true };
  return { ok: true, step: result.timeStep };
}
