import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Two validators. Bodies are checked strictly: no type coercion ("100" is not a number),
 * unknown fields refused rather than silently dropped. Query strings and path parameters are
 * text by nature, so those coerce ("?limit=10" is the number 10).
 */
export function validatorCompiler(): FastifySchemaCompiler<object> {
  const strict = new Ajv.default({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false });
  const coercing = new Ajv.default({ allErrors: false, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false });
  addFormats.default(strict);
  addFormats.default(coercing);
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema);
}
