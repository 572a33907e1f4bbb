import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Short ids people can type: run-7k2m9x4p, plan-… */
export function newId(prefix: 'run' | 'plan' | 'lock'): string {
  const bytes = randomBytes(10);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % 32];
  return `${prefix}-${id}`;
}
