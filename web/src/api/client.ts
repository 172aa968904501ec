import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Customer = components['schemas']['Customer'];
export type Transaction = components['schemas']['Transaction'];
export type Job = components['schemas']['Job'];
export type User = components['schemas']['User'];
export type ApiKey = components['schemas']['ApiKey'];
export type ApiError = components['schemas']['Error'];

let csrfToken: string | undefined;
/** Set from the session answer; every state-changing request carries it. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** The CSRF header for a state-changing request made outside the typed client (a multipart upload). */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
};

/** The typed client: paths, bodies and answers come from /openapi.json (web/src/api/schema.d.ts). */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(csrf);

/** An API refusal as an exception carrying the contract's error. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError | undefined,
  ) {
    super(body?.error?.message ?? `Request failed (${status})`);
  }
  get code(): string | undefined {
    return this.body?.error?.code;
  }
}

/** Unwraps an openapi-fetch answer: its data, or throws ApiFailure. */
export async function call<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (!response.ok) throw new ApiFailure(response.status, error as ApiError | undefined);
  return data as T;
}
