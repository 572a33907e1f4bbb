// Fails when the drizzle schema and the migrations in drizzle/ disagree:
// generating from the schema must produce no new migration.

import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
// drizzle-kit wants a relative --out: a scratch copy inside the project (git-ignored).
const relative = `.drizzle-check-${process.pid}`;
const tmp = path.join(root, relative);

function check() {
  cpSync(path.join(root, 'drizzle'), tmp, { recursive: true });
  const before = new Set(readdirSync(tmp));
  const output = execFileSync(
    path.join(root, 'node_modules', '.bin', 'drizzle-kit'),
    [
      'generate',
      '--dialect',
      'postgresql',
      // One --schema (drizzle-kit keeps only the last one given): a glob of both.
      '--schema',
      './src/{core,bot}/store/schema.ts',
      '--out',
      relative,
      '--name',
      'pending',
    ],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (!/No schema changes|migration file/.test(output)) {
    console.error(output);
    console.error('db:check: drizzle-kit did not compare the schema with the migrations');
    process.exitCode = 1;
    return;
  }
  const added = readdirSync(tmp).filter((f) => !before.has(f));
  if (added.length > 0) {
    console.error(output);
    console.error(
      `db:check: the schema (src/core/store/schema.ts, src/bot/store/schema.ts) has changes with no migration in drizzle/ (${added.join(', ')}).\n` +
        'Run "npm run db:generate" and commit the new migration.',
    );
    process.exitCode = 1;
    return;
  }
  console.log('db:check: the schema and drizzle/ migrations agree');
}

try {
  check();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
