import type { FastifyTypeProvider } from 'fastify';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

/**
 * Route handler types from the route schemas: the body, query string, path parameters and
 * headers a handler sees are the types json-schema-to-ts reads off the very schemas that validate
 * them, so a handler cannot assume a field its schema does not give. Answers are not typed from
 * their schemas (they name shared schemas by $ref, which the serializer resolves at run time).
 */
export interface SchemaTypes extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema']> : unknown;
  serializer: unknown;
}
