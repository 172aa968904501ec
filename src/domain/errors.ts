/**
 * Every failure a caller can act on is a DomainError with a stable snake_case `code`
 * and its data as fields. `src/http/errors.ts` maps codes to HTTP statuses in one table;
 * nothing else decides a status.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  /** Extra, machine-readable facts for the caller (goes to `error.details`). */
  details(): Record<string, unknown> | undefined {
    return undefined;
  }
}

export class ValidationError extends DomainError {
  readonly code = 'validation_error';
  constructor(
    message: string,
    readonly field?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
  override details() {
    return this.field ? { field: this.field, ...this.extra } : this.extra;
  }
}

export class UnauthorizedError extends DomainError {
  readonly code = 'unauthorized';
}

export class NotFoundError extends DomainError {
  readonly code = 'not_found';
  constructor(
    readonly resource: string,
    readonly id?: string | number,
  ) {
    super(`${resource} not found`);
  }
  override details() {
    return { resource: this.resource };
  }
}

export class InsufficientPointsError extends DomainError {
  readonly code = 'insufficient_points';
  constructor(
    readonly customerId: number,
    readonly balance: number,
    readonly requested: number,
  ) {
    super(`Customer ${customerId} has ${balance} points; cannot deduct ${requested}`);
  }
  override details() {
    return { customerId: this.customerId, balance: this.balance, requested: this.requested };
  }
}

export class BalanceChangedError extends DomainError {
  readonly code = 'balance_changed';
  constructor(
    readonly customerId: number,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`The balance is ${actual}, not the expected ${expected}: it changed since it was read`);
  }
  override details() {
    return { customerId: this.customerId, expectedBalance: this.expected, balance: this.actual };
  }
}

export class CustomerExistsError extends DomainError {
  readonly code = 'customer_exists';
  constructor(readonly field: 'externalId' | 'email') {
    super(`A customer with this ${field} already exists in the store`);
  }
  override details() {
    return { field: this.field };
  }
}

export class AlreadyReversedError extends DomainError {
  readonly code = 'already_reversed';
  constructor(readonly transactionId: number) {
    super(`Transaction ${transactionId} has already been reversed`);
  }
}

/** A disabled reward of the catalog: no new coupon is issued for it. */
export class RewardInactiveError extends DomainError {
  readonly code = 'reward_inactive';
  constructor(readonly rewardId: number) {
    super(`Reward ${rewardId} is disabled; enable it to give it again`);
  }
  override details() {
    return { rewardId: this.rewardId };
  }
}

export class NotReversibleError extends DomainError {
  readonly code = 'not_reversible';
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'idempotency_key_reused';
  constructor() {
    super('This Idempotency-Key was already used with a different request');
  }
}

export class IdempotencyKeyInProgressError extends DomainError {
  readonly code = 'idempotency_key_in_progress';
  constructor() {
    super('A request with this Idempotency-Key is still being processed; retry later');
  }
}

export class RateLimitedError extends DomainError {
  readonly code = 'rate_limited';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests; retry in ${retryAfterSeconds} s`);
  }
  override details() {
    return { retryAfter: this.retryAfterSeconds };
  }
}

/**
 * One store's costly reads (searches, filters, previews, exports) are more than its queue holds,
 * or one waited too long for its turn: the store's own load, so a 429 like the rate limit.
 */
export class TooManyScansError extends DomainError {
  readonly code = 'too_many_scans';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many searches, filters, previews or exports of this store at once; retry in ${retryAfterSeconds} s`);
  }
  override details() {
    return { retryAfter: this.retryAfterSeconds };
  }
}

export class ConfirmationRequiredError extends DomainError {
  readonly code = 'confirmation_required';
}

/** A pending credit that already matured or was cancelled. */
export class PendingNotCancellableError extends DomainError {
  readonly code = 'pending_not_cancellable';
  constructor(
    readonly transactionId: number,
    readonly status: string,
  ) {
    super(`Pending credit ${transactionId} is already ${status}`);
  }
  override details() {
    return { transactionId: this.transactionId, status: this.status };
  }
}

export class JobStateError extends DomainError {
  constructor(
    readonly code: 'job_not_cancellable' | 'job_not_revertible' | 'already_reverted',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Stored job parameters this release cannot read (written by a newer release, or damaged). The
 * job fails with this message instead of being misread. Not a request error: it never reaches HTTP.
 */
export class JobParamsError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(`${kind} job parameters: ${message}`);
  }
}

export class DatabaseUnavailableError extends DomainError {
  readonly code = 'database_unavailable';
  constructor(readonly retryAfterSeconds = 5) {
    super('The database cannot be reached right now; retry later');
  }
  override details() {
    return { retryAfter: this.retryAfterSeconds };
  }
}

/** Refusals of the HTTP layer itself (no service throws them): parsing, routing, media types. */
export class RequestError extends DomainError {
  constructor(
    readonly code: 'invalid_json' | 'invalid_url' | 'not_found' | 'payload_too_large' | 'uri_too_long' | 'unsupported_media_type' | 'internal_error',
    message: string,
  ) {
    super(message);
  }
}

export class WebhookUrlNotAllowedError extends DomainError {
  readonly code = 'webhook_url_not_allowed';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`The webhook URL ${reason}`);
  }
  override details() {
    return { field: 'url', reason: this.reason };
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'forbidden';
  constructor(
    message: string,
    readonly role?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
  override details() {
    return this.role ? { role: this.role, ...this.extra } : this.extra;
  }
}

export class CsrfInvalidError extends DomainError {
  readonly code = 'csrf_invalid';
  constructor() {
    super('A request made with the session cookie must carry its X-CSRF-Token header');
  }
}

export class AlreadySetUpError extends DomainError {
  readonly code = 'already_set_up';
  constructor() {
    super('This Tally is already set up; log in instead');
  }
}

export class UserExistsError extends DomainError {
  readonly code = 'user_exists';
  constructor(readonly email: string) {
    super('A staff user with this e-mail already exists in the store');
  }
}

export class LastOwnerError extends DomainError {
  readonly code = 'last_owner';
  constructor() {
    super('The store must keep at least one active owner');
  }
}

/**
 * An import file that cannot be read as a CSV at all (wrong encoding, binary, a broken quote, a
 * header without the needed columns): the whole file is refused, nothing is written. Row-level
 * problems are row errors in the job's report instead.
 */
export class ImportFileError extends DomainError {
  readonly code = 'invalid_csv';
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
  override details() {
    return this.line === undefined ? undefined : { line: this.line };
  }
}

/** An upload over the configured size (IMPORT_MAX_BYTES): refused whole, nothing applied. */
export class UploadTooLargeError extends DomainError {
  readonly code = 'payload_too_large';
  constructor(readonly maxBytes: number) {
    super(`The upload is larger than ${maxBytes} bytes, the most this server accepts`);
  }
  override details() {
    return { maxBytes: this.maxBytes };
  }
}

/** An upload that broke off before its end (the client went away): nothing of it is applied. */
export class UploadInterruptedError extends DomainError {
  readonly code = 'upload_interrupted';
  constructor() {
    super('The upload ended before the file did; nothing was imported');
  }
}
