import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { ErrorCode } from '../domain/error-codes.js';
import { DatabaseUnavailableError, DomainError, RateLimitedError } from '../domain/errors.js';

/** The one table from error code to HTTP status. Nothing else decides a status. */
export const STATUS_BY_CODE = {
  invalid_json: 400,
  invalid_url: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_invalid: 403,
  not_found: 404,
  customer_exists: 409,
  already_set_up: 409,
  user_exists: 409,
  last_owner: 409,
  balance_changed: 409,
  already_reversed: 409,
  already_reverted: 409,
  idempotency_key_reused: 409,
  idempotency_key_in_progress: 409,
  job_not_cancellable: 409,
  job_not_revertible: 409,
  pending_not_cancellable: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  upload_interrupted: 400,
  validation_error: 422,
  invalid_csv: 422,
  insufficient_points: 422,
  not_reversible: 422,
  reward_inactive: 422,
  confirmation_required: 422,
  webhook_url_not_allowed: 422,
  rate_limited: 429,
  too_many_scans: 429,
  internal_error: 500,
  database_unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

/** The statuses the table can answer (what OpenAPI entries may declare). */
export type ErrorStatus = (typeof STATUS_BY_CODE)[ErrorCode];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

interface HttpError {
  status: number;
  body: ErrorBody;
}

/** Fastify's own errors (body parsing, validation) as our codes. */
function fromFastify(err: FastifyError): { code: ErrorCode; message: string; details?: Record<string, unknown> } | undefined {
  if (err.validation) {
    const first = err.validation[0];
    const field = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : first?.params?.missingProperty ?? first?.params?.additionalProperty;
    const where = err.validationContext ?? 'body';
    let message = err.message;
    if (first?.keyword === 'additionalProperties') message = `${where} has an unknown field "${first.params.additionalProperty}"`;
    return { code: 'validation_error', message, details: { in: where, ...(field ? { field: String(field) } : {}) } };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', message: 'Send the body as application/json' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large', message: 'The request body is too large' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'invalid_json', message: 'The body is empty but the content type says JSON' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'invalid_json', message: `The body is not valid JSON: ${err.message}` };
    case 'FST_ERR_BAD_URL':
      return { code: 'invalid_url', message: 'The URL is malformed (a bad percent-encoding?)' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'invalid_json', message: 'The Content-Length does not match the body' };
  }
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return { code: 'invalid_json', message: `The body is not valid JSON: ${err.message}` };
  }
  if (err.statusCode === 413) return { code: 'payload_too_large', message: err.message };
  if (err.statusCode === 415) return { code: 'unsupported_media_type', message: err.message };
  return undefined;
}

/** Maps any thrown value to a status and the public error body. */
export function toHttpError(err: unknown): HttpError {
  if (isDatabaseUnavailable(err)) return toHttpError(new DatabaseUnavailableError());
  if (err instanceof DomainError) {
    const status: number = STATUS_BY_CODE[err.code as ErrorCode] ?? 500;
    const details = err.details();
    return { status, body: { error: { code: err.code as ErrorCode, message: err.message, ...(details ? { details } : {}) } } };
  }
  const known = fromFastify(err as FastifyError);
  if (known) return { status: STATUS_BY_CODE[known.code], body: { error: known } };
  return { status: 500, body: { error: { code: 'internal_error', message: 'Something went wrong on our side' } } };
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = toHttpError(err);
  const retryAfter = body.error.details?.retryAfter;
  if ((status === 429 || status === 503) && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code: body.error.code }, 'request rejected');
  if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.status(status).send(body);
}
