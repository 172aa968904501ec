import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { withoutNul } from '../domain/validation.js';

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

/**
 * Every text a request carries (body, query string, path) is checked for NUL once, before the
 * route's schema: no route can forget it, search terms and filters included.
 */
export function rejectNul(parts: Record<string, unknown>): void {
  for (const [where, value] of Object.entries(parts)) {
    const field = findNul(value, where);
    if (field !== undefined) withoutNul('\u0000', field);
  }
}

function findNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const hit = findNul(v, `${path}.${k}`);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

/** Deeper bodies are refused before anything recursive (JSON.parse, NUL check, hashing) runs. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply a JSON text nests arrays and objects, counted in one loop over the characters
 * (strings skipped), stopping as soon as `limit` is passed. Iterative on purpose: the text is
 * untrusted and a recursive walk of a 20,000-deep body overflows the stack.
 */
export function jsonDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
