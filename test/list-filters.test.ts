// Listing runs with a status filter of several statuses (deploy-tui's failed
// group, `list --status failed,cancelled`) reads the page's seqs from an index
// and then the page's rows (src/core/store/runs.ts): the answer is the same as
// filtering every run, newest first, for each filter, page and limit.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunFilter } from '../src/core/api/types.ts';
import {
  RUN_STATUSES,
  type RunStatus,
  SLOT_STATUSES,
  STATUS_GROUPS,
} from '../src/core/lifecycle/statuses.ts';
import { connect } from '../src/core/store/database.ts';
import { listRunPage, listRunRows } from '../src/core/store/runs.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
let conn: ReturnType<typeof connect>;

type Seeded = {
  id: string;
  deployment: string;
  environment: string;
  status: RunStatus;
  by: string;
};
const seeded: Seeded[] = []; // oldest first

beforeAll(async () => {
  db = await createTestDatabase();
  conn = connect(db.url, { max: 2 });
  for (let i = 0; i < 300; i++) {
    const status = RUN_STATUSES[(i * 7) % RUN_STATUSES.length]!;
    seeded.push({
      id: `run-list-${String(i).padStart(3, '0')}`,
      // A deployment has one working run at most (the database says so).
      deployment: SLOT_STATUSES.includes(status) ? `solo-${i}` : `app-${i % 4}`,
      environment: i % 4 === 0 ? 'production' : 'staging',
      status,
      by: `U0USER${i % 3}`,
    });
  }
  // One statement, so seq follows the order above.
  await conn.sql`
    insert into runs (id, deployment, environment, kind, status, requested_by, requested_via,
      variables, secret_variables, source, config)
    select r.id, r.deployment, r.environment, 'execute', r.status, r.by, 'cli', '{}', '{}', '{}', '{}'
    from jsonb_to_recordset(${JSON.stringify(seeded)}::jsonb) as r(id text, deployment text, environment text, status text, by text)
    order by r.id`;
});
afterAll(async () => {
  await conn?.close();
  await db?.drop();
});

/** What the filter must answer: every seeded run that matches, newest first. */
function expected(filter: RunFilter): string[] {
  let runs = [...seeded].reverse();
  if (filter.before) runs = runs.slice(runs.findIndex((r) => r.id === filter.before) + 1);
  return runs
    .filter(
      (r) =>
        (!filter.deployment || r.deployment === filter.deployment) &&
        (!filter.environment || r.environment === filter.environment) &&
        (!filter.requestedBy || r.by === filter.requestedBy) &&
        (!filter.statuses?.length || filter.statuses.includes(r.status)),
    )
    .slice(0, filter.limit ?? 50)
    .map((r) => r.id);
}

// A short page reads plans and approvals in its statement, a long one after
// it: both read the same runs.
const listed = async (filter: RunFilter) => {
  const [page, rows] = await Promise.all([
    listRunPage(conn.db, filter),
    listRunRows(conn.db, filter),
  ]);
  expect(page.rows).toEqual(rows);
  return rows.map((r) => r.id);
};

describe('list filtered by several statuses', () => {
  it('answers each status group, alone and with a deployment, newest first', async () => {
    for (const group of Object.keys(STATUS_GROUPS) as (keyof typeof STATUS_GROUPS)[]) {
      for (const deployment of [undefined, 'app-1', 'app-2']) {
        for (const limit of [1, 7, 1000]) {
          const filter = { statuses: STATUS_GROUPS[group], deployment, limit };
          const ids = await listed(filter);
          expect(ids, `${group} ${deployment} ${limit}`).toEqual(expected(filter));
          if (limit === 7 && group !== 'all') expect(ids.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it('a list of statuses with the other filters, and the next page after a run', async () => {
    const statuses: RunStatus[] = ['failed', 'cancelled', 'completed'];
    const filters: RunFilter[] = [
      { statuses, limit: 10 },
      { statuses, environment: 'staging', limit: 10 },
      { statuses, requestedBy: 'U0USER2', limit: 10 },
      { statuses: ['failed', 'rolled_back'], deployment: 'app-3', limit: 5 },
    ];
    for (const filter of filters) {
      const first = await listed(filter);
      expect(first).toEqual(expected(filter));
      const next = { ...filter, before: first.at(-1)! };
      expect(await listed(next)).toEqual(expected(next));
    }
  });

  it('the same status twice counts once; every status is no filter at all', async () => {
    const twice = { statuses: ['failed', 'failed', 'cancelled'] as RunStatus[], limit: 20 };
    expect(await listed(twice)).toEqual(expected(twice));
    expect(await listed({ statuses: RUN_STATUSES, limit: 300 })).toEqual(expected({ limit: 300 }));
  });
});
