import type { Committer } from '../db/committer.js';
import type { Database } from '../db/database.js';
import type { Role } from '../domain/roles.js';
import type { Actor } from '../domain/types.js';

/** What routes need: the database, and the committer that runs writes. */
export interface AppContext {
  database: Database;
  committer: Committer;
  /** The job worker, when this process runs one: woken when a job is queued. */
  workers?: { wake(): void };
  /** The outbox dispatcher, when this process runs one: woken by a redelivery. */
  dispatcher?: { wake(): void };
  /** TALLY_ALLOW_PRIVATE_WEBHOOKS: webhook URLs may point at loopback and private addresses (read per request). */
  allowPrivateWebhooks?: boolean;
}

export interface Principal {
  storeId: number;
  actor: Actor;
  /** What the caller may do (an API key acts as admin unless created with a role). */
  role: Role;
  /** Set when the caller is a staff user's session cookie (which then needs the CSRF token). */
  sessionToken?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
