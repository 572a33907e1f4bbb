// npm run bench [-- NAME …]: runs the benchmarks and writes BENCHMARKS.md.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchAck } from './ack.ts';
import { benchApi } from './api.ts';
import { benchDecisions } from './decisions.ts';
import { benchHistory } from './history.ts';
import { benchHolds } from './holds.ts';
import { machine, ROOT } from './lib/env.ts';
import { Report, renderMarkdown } from './lib/report.ts';
import { benchLifecycle } from './lifecycle.ts';
import { benchLogs } from './logs.ts';
import { benchPickup } from './pickup.ts';
import { benchPolicy } from './policy.ts';
import { benchSlackUpdates } from './slack-updates.ts';
import { benchTui } from './tui.ts';
import { benchTuiApi } from './tui-api.ts';
import { benchViews } from './views.ts';

const ALL: Record<string, (r: Report) => Promise<void>> = {
  pickup: benchPickup,
  lifecycle: benchLifecycle,
  logs: benchLogs,
  ack: benchAck,
  'slack-updates': benchSlackUpdates,
  tui: benchTui,
  api: benchApi,
  'tui-api': benchTuiApi,
  views: benchViews,
  history: benchHistory,
  holds: benchHolds,
  policy: benchPolicy,
  decisions: benchDecisions,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(ALL);
const report = new Report();
for (const name of names) {
  const bench = ALL[name];
  if (!bench) {
    process.stderr.write(`unknown benchmark ${name}; known: ${Object.keys(ALL).join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(`» ${name}\n`);
  await bench(report);
}
const header = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString()}.
Machine: ${machine()}.
Benchmarks are not tests: nothing in \`npm test\` asserts a timing. Ratios compare two measurements taken in the same run.`;
const file = path.join(
  ROOT,
  names.length === Object.keys(ALL).length ? 'BENCHMARKS.md' : 'BENCHMARKS.partial.md',
);
writeFileSync(file, `${renderMarkdown(report, header)}\n`);
process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
process.exit(0);
