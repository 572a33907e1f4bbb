// A status filter as people and URLs write it: a group (active, failed, …) or
// statuses separated by commas. One parser for every query string.

import { z } from 'zod';
import { RUN_STATUSES, type RunStatus, STATUS_GROUPS } from './statuses.ts';

export const statusFilter = z.string().transform((value, ctx): RunStatus[] => {
  if (value in STATUS_GROUPS) return [...STATUS_GROUPS[value as keyof typeof STATUS_GROUPS]];
  const out: RunStatus[] = [];
  for (const s of value.split(',').map((x) => x.trim())) {
    const found = RUN_STATUSES.find((r) => r === s);
    if (found === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${s} is not a status: use ${Object.keys(STATUS_GROUPS).join(', ')} or ${RUN_STATUSES.join(', ')}`,
      });
      return z.NEVER;
    }
    out.push(found);
  }
  return out;
});
