import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { sql } from 'kysely';
import { DatabaseUnavailableError, RequestError } from '../domain/errors.js';
import { type Authenticator, createAuthenticator } from './auth.js';
import type { AppContext } from './context.js';
import { errorHandler } from './errors.js';
import { type Limiter, RedisWindowLimiter, WindowLimiter } from './rate-limit.js';
import type { Redis } from 'ioredis';
import { jobEventStreams } from './sse.js';
import { registerStatic } from './static.js';
import { customerRoutes } from './routes/customers.js';
import { importRoutes } from './routes/imports.js';
import { jobRoutes } from './routes/jobs.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { sessionRoutes } from './routes/session.js';
import { setupRoutes } from './routes/setup.js';
import { userRoutes } from './routes/users.js';
import { agentLimit, authorize } from './permissions.js';
import { sessionAuth } from './session-auth.js';
import { apiKeySchema, userSchema } from './schemas/staff.js';
import { transactionRoutes } from './routes/transactions.js';
import { reportRoutes } from './routes/reports.js';
import { notificationRoutes } from './routes/notifications.js';
import { webhookRoutes } from './routes/webhooks.js';
import { tierRoutes } from './routes/tiers.js';
import { settingsSchema, tierSchema } from './schemas/tiers.js';
import { rewardRoutes } from './routes/rewards.js';
import { storefrontRoutes } from './routes/storefront.js';
import { couponSchema, rewardSchema } from './schemas/rewards.js';
import { deliverySchema, notificationSchema, webhookSchema } from './schemas/webhooks.js';
import { customerSchema, errorSchema, pendingCreditSchema, transactionSchema } from './schemas/common.js';
import { jobSchema } from './schemas/jobs.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH, rejectNul, validatorCompiler } from './validation.js';

export interface AppOptions {
  logger?: FastifyBaseLogger;
  /** Requests per minute per API key (and per client address without a valid key); 0 turns the limit off. */
  rateLimitPerMinute?: number;
  /** Where the rate-limit counters live when several instances share one limit (REDIS_URL). */
  redis?: Redis;
  /** Namespace of the counters in Redis (default `tally:rl:`). */
  redisPrefix?: string;
  /** The largest import upload in bytes (IMPORT_MAX_BYTES; default 500 MB). */
  importMaxBytes?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's authentication (a revoke route calls auth.forgetApiKey). */
    auth: Authenticator;
  }
}

const BODY_LIMIT = 1024 * 1024;

const pathOf = (url: string) => url.split('?')[0];

/** Builds the HTTP app without listening (tests use it as is; server.ts listens). */
export async function buildApp(ctx: AppContext, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // One line per request (onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // A malformed URL never reaches a route or the error handler: answer it in the contract's shape.
    frameworkErrors: (err, req, reply) => errorHandler(err, req, reply),
  });
  app.decorateRequest('principal', null);
  // JSON only; a text body to a JSON route is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonDepthExceeds(body as string)) {
      done(new RequestError('invalid_json', `The body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parseJson(req, body as string, done);
  });
  app.setValidatorCompiler(validatorCompiler());
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => errorHandler(new RequestError('not_found', `No route for ${req.method} ${pathOf(req.url)}`), req, reply));
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('preValidation', async (req) => rejectNul({ body: req.body, query: req.query, params: req.params }));
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern and the path, never the query string (it carries e-mail addresses and search terms).
    const route = req.routeOptions.url;
    req.log.info({ method: req.method, route, path: pathOf(req.url), status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });
  const streams = jobEventStreams();
  app.addHook('preClose', async () => streams.closeAll());
  for (const schema of [errorSchema, customerSchema, transactionSchema, pendingCreditSchema, jobSchema, webhookSchema, deliverySchema, notificationSchema, userSchema, apiKeySchema, tierSchema, settingsSchema, rewardSchema, couponSchema]) app.addSchema(schema);

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Tally', description: 'Loyalty-points ledger API', version: '0.1.0' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json.$id ?? `def-${i}`) },
  });

  const perMinute = opts.rateLimitPerMinute ?? 6000;
  const limiter = (): Limiter =>
    opts.redis
      ? new RedisWindowLimiter(opts.redis, perMinute, { prefix: opts.redisPrefix, onError: (err) => app.log.warn({ err }, 'rate limit: Redis did not answer; request let through') })
      : new WindowLimiter(perMinute);
  const perAddress = perMinute > 0 ? limiter() : undefined;
  const auth = createAuthenticator(ctx.database.db, {
    sources: [sessionAuth(ctx)],
    ...(perMinute > 0 ? { perKey: limiter(), perAddress } : {}),
  });
  app.decorate('auth', auth);

  // Described in the OpenAPI document like every route, as needing no key (`security: []`).
  const open = { tags: ['meta'], security: [] };
  app.get('/healthz', {
    schema: {
      ...open,
      summary: 'Answers 200 once the database is reachable, 503 while it is not',
      response: {
        200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] },
        503: { $ref: 'Error#' },
      },
    },
    handler: async (_req, reply) => {
      try {
        await sql`select 1`.execute(ctx.database.db);
      } catch (err) {
        throw Object.assign(new DatabaseUnavailableError(), { cause: err });
      }
      return reply.send({ status: 'ok' });
    },
  });
  app.get('/openapi.json', { schema: { ...open, summary: 'This OpenAPI document' }, handler: async () => app.swagger() });

  // Setup, login and the storefront (its own digest) need no key; they are limited per address like unauthenticated traffic.
  await app.register(async (open) => {
    if (perAddress) open.addHook('onRequest', async (req) => perAddress.hit(`ip:${req.ip}`));
    await open.register(setupRoutes, { ctx });
    await open.register(sessionRoutes, { ctx });
    await open.register(storefrontRoutes, { ctx });
  });

  await app.register(async (v1) => {
    v1.addHook('onRequest', auth.authenticate);
    v1.addHook('onRequest', authorize());
    v1.addHook('preHandler', agentLimit(ctx));
    await v1.register(userRoutes, { ctx });
    await v1.register(apiKeyRoutes, { ctx });
    await v1.register(customerRoutes, { ctx });
    await v1.register(transactionRoutes, { ctx });
    await v1.register(reportRoutes, { ctx });
    await v1.register(importRoutes, { ctx, maxBytes: opts.importMaxBytes ?? 500 * 1024 * 1024 });
    await v1.register(jobRoutes, { ctx, streams });
    await v1.register(webhookRoutes, { ctx });
    await v1.register(notificationRoutes, { ctx });
    await v1.register(tierRoutes, { ctx });
    await v1.register(rewardRoutes, { ctx });
  });
  registerStatic(app);
  return app;
}
