import type { CodeCheck } from '../codes/codes.service.ts';
import { AppError } from '../shared/app-error.ts';

/**
 * What the code page says when a code is refused or cannot be sent yet. Registration and recovery
 * share these texts (`contact_code.*` in registration/messages.ts), so the two journeys read alike.
 */
export interface CodeStepProblem {
  key: string;
  params: Record<string, string>;
  status: number;
  /** For 429: the Retry-After header. */
  retryAfterSeconds?: number;
}

export function codeCheckProblem(check: Exclude<CodeCheck, { result: 'ok' }>): CodeStepProblem {
  if (check.result === 'wrong') return { key: 'contact_code.wrong', params: { attempts: String(check.attemptsLeft) }, status: 400 };
  if (check.result === 'expired') return { key: 'contact_code.expired', params: {}, status: 400 };
  // Exhausted, or superseded/used: either way this code is gone and a new one is the way on.
  return { key: 'contact_code.exhausted', params: {}, status: 400 };
}

/** The limits issueCode enforces, as a page message; undefined for any other error (rethrow it). */
export function codeSendProblem(error: unknown, now: Date): CodeStepProblem | undefined {
  if (!(error instanceof AppError) || error.status !== 429) return undefined;
  const seconds = typeof error.details?.retryAfterSeconds === 'number' ? error.details.retryAfterSeconds : 60;
  if (error.code === 'code.resend_too_soon') {
    return { key: 'contact_code.resend_in', params: { seconds: String(seconds) }, status: 429, retryAfterSeconds: seconds };
  }
  return {
    key: 'contact_code.too_many_sends',
    params: { minutes: String(Math.max(1, Math.ceil(seconds / 60))), time: moscowTime(new Date(now.getTime() + seconds * 1000)) },
    status: 429,
    retryAfterSeconds: seconds,
  };
}

/** HH:MM in Moscow time: the service's users read times in МСК, whatever the server's zone. */
function moscowTime(date: Date): string {
  return date.toLocaleTimeString('ru-RU', { timeZone: 'Europe/Moscow', hour: '2-digit', minute: '2-digit' });
}
