import type * as Errors from './errors.js';

type ErrorClasses = (typeof Errors)[keyof typeof Errors];
type CodeOf<C> = C extends abstract new (...args: never[]) => infer I
  ? I extends { code: infer K }
    ? string extends K
      ? never
      : K
    : never
  : never;

/**
 * Every code an exported DomainError class of errors.ts can carry, derived from the classes
 * themselves: a new class makes src/http/errors.ts fail to compile until its status is listed.
 */
export type ErrorCode = CodeOf<ErrorClasses>;
