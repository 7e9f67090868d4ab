/**
 * The one error type our own code throws on purpose. `code` is a stable dotted id
 * (`login.invalid_credentials`) that APIs return and pages translate; `status` is the HTTP status.
 * Only errors below 500 ever show their message to a user.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, status = 400, message?: string, details?: Record<string, unknown>) {
    super(message ?? code);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export function assertThat(condition: unknown, error: AppError | (() => AppError)): asserts condition {
  if (!condition) throw typeof error === 'function' ? error() : error;
}
