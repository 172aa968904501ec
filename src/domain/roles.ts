import { ForbiddenError } from './errors.js';

/**
 * Staff roles, strongest first. `owner` and `admin` manage the store; an `agent` makes
 * single-customer changes up to the store's per-adjustment limit; a `viewer` only reads.
 */
export type Role = 'owner' | 'admin' | 'agent' | 'viewer';
export const ROLES: readonly Role[] = ['owner', 'admin', 'agent', 'viewer'];

/** What a request needs: to read, to change one customer, or to manage the store. */
export type Permission = 'read' | 'single_customer' | 'manage';

const GRANTS: Record<Role, readonly Permission[]> = {
  owner: ['read', 'single_customer', 'manage'],
  admin: ['read', 'single_customer', 'manage'],
  agent: ['read', 'single_customer'],
  viewer: ['read'],
};

/** The points an agent may move in one adjustment when the store's settings name no limit. */
export const DEFAULT_AGENT_POINT_LIMIT = 1000;

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** It can throw: ForbiddenError. */
export function requirePermission(role: Role, permission: Permission): void {
  if (!can(role, permission)) throw new ForbiddenError(`The ${role} role may not do this`, role);
}

/**
 * An agent's single-customer change moves at most `limit` points either way.
 * It can throw: ForbiddenError.
 */
export function requireWithinAgentLimit(role: Role, points: number, limit: number): void {
  if (role === 'agent' && Math.abs(points) > limit) {
    throw new ForbiddenError(`An agent may move at most ${limit} points in one adjustment`, role, { limit });
  }
}

/**
 * Only an owner makes or changes an owner (an admin cannot promote themselves past the owner).
 * It can throw: ForbiddenError.
 */
export function requireMayAssign(actorRole: Role, target: Role, current?: Role): void {
  if ((target === 'owner' || current === 'owner') && actorRole !== 'owner') {
    throw new ForbiddenError('Only an owner can grant or change the owner role', actorRole);
  }
}
