import type { SchemaTypes } from '../type-provider.js';
import type { FastifyPluginAsync } from 'fastify';
import { listNotifications } from '../../ledger/notifications.js';
import { principal } from '../auth.js';
import type { AppContext } from '../context.js';
import { pageRequest } from '../paging.js';
import { commonErrors, pageSchema, pagingQuery } from '../schemas/common.js';

export const notificationRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const routes = app.withTypeProvider<SchemaTypes>();
  routes.get('/v1/notifications', {
    schema: {
      tags: ['notifications'],
      summary: 'E-mail notifications, newest first: kept without SMTP_URL, a record of what was sent with it',
      querystring: { type: 'object', properties: pagingQuery, additionalProperties: false },
      response: { 200: pageSchema('Notification'), ...commonErrors },
    },
    handler: (req) => listNotifications(ctx.database.db, principal(req).storeId, pageRequest(req.query.limit, req.query.cursor)),
  });
};
