import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, RateLimitedError } from '../domain/errors.js';

/** The one table from error code to HTTP status. Nothing else decides a status. */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_json: 400,
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
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_error: 422,
  insufficient_points: 422,
  not_reversible: 422,
  confirmation_required: 422,
  rate_limited: 429,
  internal_error: 500,
};

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

interface HttpError {
  status: number;
  body: ErrorBody;
}

/** Fastify's own errors (body parsing, validation) as our codes. */
function fromFastify(err: FastifyError): { code: string; message: string; details?: Record<string, unknown> } | undefined {
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
  if (err instanceof DomainError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    const details = err.details();
    return { status, body: { error: { code: err.code, message: err.message, ...(details ? { details } : {}) } } };
  }
  const known = fromFastify(err as FastifyError);
  if (known) return { status: STATUS_BY_CODE[known.code], body: { error: known } };
  return { status: 500, body: { error: { code: 'internal_error', message: 'Something went wrong on our side' } } };
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = toHttpError(err);
  if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code: body.error.code }, 'request rejected');
  if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.status(status).send(body);
}
