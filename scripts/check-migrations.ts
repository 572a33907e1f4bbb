// Fails when a drizzle schema and its migrations disagree: generating from the
// schema must produce no new migration. Two folders: the core's (drizzle/,
// src/core/store/schema.ts) and the Slack bot's (drizzle/bot/, src/bot/store/schema.ts).

import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

const FOLDERS = [
  { schema: './src/core/store/schema.ts', out: 'drizzle' },
  { schema: './src/bot/store/schema.ts', out: 'drizzle/bot' },
] as const;

/** True when `schema` and the migrations in `out` agree. */
function check(schema: string, out: string): boolean {
  // drizzle-kit wants a relative --out: a scratch copy inside the project (git-ignored).
  const relative = `.drizzle-check-${process.pid}`;
  const tmp = path.join(root, relative);
  try {
    cpSync(path.join(root, out), tmp, { recursive: true });
    const before = new Set(readdirSync(tmp));
    const output = execFileSync(
      path.join(root, 'node_modules', '.bin', 'drizzle-kit'),
      [
        'generate',
        '--dialect',
        'postgresql',
        '--schema',
        schema,
        '--out',
        relative,
        '--name',
        'pending',
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (!/No schema changes|migration file/.test(output)) {
      console.error(output);
      console.error(`db:check: drizzle-kit did not compare ${schema} with ${out}/`);
      return false;
    }
    const added = readdirSync(tmp).filter((f) => !before.has(f));
    if (added.length > 0) {
      console.error(output);
      console.error(
        `db:check: the schema (${schema}) has changes with no migration in ${out}/ (${added.join(', ')}).\n` +
          'Run "npm run db:generate" and commit the new migration.',
      );
      return false;
    }
    console.log(`db:check: ${schema} and the migrations in ${out}/ agree`);
    return true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

let ok = true;
for (const { schema, out } of FOLDERS) ok = check(schema, out) && ok;
if (!ok) process.exitCode = 1;
