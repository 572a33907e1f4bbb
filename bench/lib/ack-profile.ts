// Diagnosis, not part of `npm run bench`: the bot alone (bench/lib/bot-only.ts,
// workers in a separate `deploy-bot worker`) under N /deploy at RATE per second,
// with what PostgreSQL ran per request (needs pg_stat_statements in DATABASE_URL's
// server) and the bot's CPU. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' to profile.
//   DATABASE_URL=… node bench/lib/ack-profile.ts [n] [rate]

import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { startFakeSlack } from '../../test/support/fake-slack.ts';
import { ACK_FILES, ackConfig, clickBodies, commandBodies } from './ack-setup.ts';
import { backendPids, cpuOf, cpuOfTree, sumCpu } from './cpu.ts';
import { freshDatabase, startDeployBot, workspace } from './env.ts';
import { runLoad } from './load.ts';
import { cpuMs, SIGNING_SECRET, settle, startBotOnly } from './slack.ts';
import { summarize } from './stats.ts';

const n = Number(process.argv[2] ?? 500);
const rate = Number(process.argv[3] ?? 50);
/** ACK_KIND=click: the measured requests are clicks on the run messages (as bench/ack.ts sends them). */
const clicks = process.env.ACK_KIND === 'click';
const ws = workspace(ackConfig(), ACK_FILES);
const db = await freshDatabase('ackprof');
const slack = await startFakeSlack();
const worker = await startDeployBot('worker', ws, db.url);
const bot = await startBotOnly(ws, db.url, slack);
const bodies = (k: number) => commandBodies(slack, k);
await runLoad({
  secret: SIGNING_SECRET,
  rate: 5,
  targets: [{ url: bot.eventsUrl, bodies: bodies(50), warmup: [] }],
});
await settle(slack);
const admin = postgres(db.url, { max: 1, onnotice: () => {} });
await admin`create extension if not exists pg_stat_statements`;
const stats = async () => {
  try {
    return await admin<{ query: string; calls: number; ms: number; app: string }[]>`
      select query, calls::int, total_exec_time as ms from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())`;
  } catch {
    return [];
  }
};
const before = new Map((await stats()).map((s) => [s.query, s]));
const machineBusy = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, v) => a + v, 0) - (f[3] ?? 0) - (f[4] ?? 0)) / 100;
};
let pgPids = await backendPids(db.url);
const snap = () => ({
  machine: machineBusy(),
  bot: cpuOfTree(bot.proc.child.pid!),
  worker: cpuOfTree(worker.child.pid!),
  pg: sumCpu(pgPids),
  me: cpuOf(process.pid),
});
const s0 = snap();
const cpu0 = cpuMs(bot.proc.child.pid);
const [r] = await runLoad({
  secret: SIGNING_SECRET,
  rate,
  targets: [{ url: bot.eventsUrl, bodies: clicks ? clickBodies(slack, n) : bodies(n), warmup: [] }],
});
await settle(slack, 1500, 120_000);
const cpu = (cpuMs(bot.proc.child.pid) - cpu0) / n;
pgPids = [...new Set([...pgPids, ...(await backendPids(db.url))])];
const s1 = snap();
const per = (x: number) => ((x * 1000) / n).toFixed(1);
console.log(
  `CPU ms per request: machine ${per(s1.machine - s0.machine)} = bot ${per(s1.bot.self - s0.bot.self)} + its children ${per(s1.bot.children - s0.bot.children)}, worker ${per(s1.worker.self - s0.worker.self)} + steps ${per(s1.worker.children - s0.worker.children)}, PostgreSQL ${per(s1.pg - s0.pg)}, fake Slack ${per(s1.me.self - s0.me.self)}, load generator ${per(s1.me.children - s0.me.children)}`,
);
const s = summarize(r!.latencies);
console.log(
  `ack p50 ${s.p50.toFixed(2)} p95 ${s.p95.toFixed(2)} p99 ${s.p99.toFixed(2)} max ${s.max.toFixed(2)}; bot CPU ${cpu.toFixed(2)} ms per request; lag ${r!.maxLag.toFixed(1)}`,
);
const after = await stats();
const rows = after
  .map((a) => ({
    q: a.query,
    calls: a.calls - (before.get(a.query)?.calls ?? 0),
    ms: a.ms - (before.get(a.query)?.ms ?? 0),
  }))
  .filter((x) => x.calls > 0)
  .sort((a, b) => b.ms - a.ms);
let total = 0;
for (const x of rows) total += x.calls;
const totalMs = rows.reduce((a, x) => a + x.ms, 0);
console.log(
  `statements per request: ${(total / n).toFixed(1)}, executing ${(totalMs / n).toFixed(2)} ms (by time spent, per request: calls, ms each)`,
);
for (const x of rows.slice(0, 40))
  console.log(
    `${(x.calls / n).toFixed(2).padStart(6)} ${(x.ms / x.calls).toFixed(3)}ms  ${x.q.replace(/\s+/g, ' ').slice(0, 150)}`,
  );
for (const r of await admin<
  { name: string; n: number }[]
>`select name, count(*)::int as n from pgboss.job_common group by name`)
  console.log(`jobs ${r.name}: ${(r.n / (n + 50)).toFixed(2)} per request`);
for (const r of await admin<{ n: number }[]>`select count(*)::int as n from run_transitions`)
  console.log(`transitions per request ${(r.n / (n + 50)).toFixed(2)}`);
await admin.end();
await bot.proc.stop();
await worker.stop();
await slack.close();
await db.drop();
