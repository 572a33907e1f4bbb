// The layer rules of .dependency-cruiser.cjs, checked in CI. dependency-cruiser
// reads our TypeScript 7 sources through @swc/core; a parser that silently
// skipped files would pass every rule, so this also fails when any module under
// src/ is missing from what it read.

import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

type Violation = { from: string; to: string; rule: { name: string }; cycle?: { name: string }[] };
type Result = {
  modules: { source: string }[];
  summary: { violations: Violation[]; totalCruised: number };
};

const root = path.resolve(import.meta.dirname, '..');
const output = execFileSync(
  path.join(root, 'node_modules', '.bin', 'depcruise'),
  ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
  // Exit code 0 or not, the JSON says what is wrong.
  { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
);
const result = JSON.parse(output) as Result;

const sources = readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') || f.endsWith('.tsx'))
  .map((f) => `src/${f.split(path.sep).join('/')}`);
const read = new Set(result.modules.map((m) => m.source));
const unread = sources.filter((s) => !read.has(s));

for (const v of result.summary.violations) {
  const via = v.cycle?.length ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : '';
  console.error(`deps: ${v.rule.name}: ${v.from} → ${v.to}${via}`);
}
for (const s of unread) console.error(`deps: ${s} was not read by dependency-cruiser`);
if (result.summary.violations.length > 0 || unread.length > 0) process.exit(1);
console.log(
  `deps: ${sources.length} modules under src/, all read; no layer violation, no circular import`,
);
