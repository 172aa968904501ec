import { randomInt } from 'node:crypto';

/** Letters and digits that cannot be mistaken for one another when read out or typed (no 0/O, 1/I/L, 5/S, 8/B). */
export const COUPON_ALPHABET = 'ACDEFGHJKMNPQRTUVWXYZ234679';
export const COUPON_LENGTH = 12;

/**
 * A new coupon code: 12 characters drawn uniformly (crypto) from a 27-letter unambiguous
 * alphabet, about 57 bits — unguessable, and a collision within one store is practically never
 * (the unique index refuses one anyway).
 */
export function newCouponCode(): string {
  let code = '';
  for (let i = 0; i < COUPON_LENGTH; i++) code += COUPON_ALPHABET[randomInt(COUPON_ALPHABET.length)];
  return code;
}
