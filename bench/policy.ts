// Issue 18: what rules cost a decision. The same decision (Approve plan, the
// core API, its transaction) on runs of a deployment with 50 rules and of one
// with none, interleaved in one run of the benchmark; the difference at p50
// and p99 is what the rules add (evaluation in the transaction and the audit
// row). Runs are put straight into awaiting_plan_approval with a plan of 20
// changes, so no step process is on the measured path.

import os from 'node:os';
import { DeployCore } from '../src/core/api/core.ts';
import type { Actor, PlannedChange } from '../src/core/api/types.ts';
import { newId } from '../src/core/engine/ids.ts';
import { compileRules, conditionInputOf, evaluateRules } from '../src/core/policy/rules.ts';
import { planReadyVerdict } from '../src/core/policy/run-rules.ts';
import { insertPlan } from '../src/core/store/plans.ts';
import { runs } from '../src/core/store/schema.ts';
import { encryptSecretVariables, sealConfig } from '../src/core/store/secrets.ts';
import { runSnapshot } from '../src/core/store/transition.ts';
import { freshDatabase, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { bootstrapInterval, ms, summarize } from './lib/stats.ts';

const DECISIONS = Number(process.env.BENCH_POLICY_DECISIONS ?? 10_000);
const RULES = 50;

/** 50 rules of the kinds people write, none of which stops the decision; 5 warn rules match. */
function rules(): string {
  const out: string[] = [];
  for (let i = 0; i < RULES; i++) {
    const kind = i % 5;
    const when =
      kind === 0
        ? `run.plan.changes.exists(c, c.action == "delete" && c.address.startsWith("aws_db_instance.db${i}"))`
        : kind === 1
          ? `deployment.environment == "production" && now.weekday == "Sunday${i}" && now.hour >= 15`
          : kind === 2
            ? `run.variables.image_tag == "blocked-${i}" || run.requestedBy == "U0BLOCKED${i}"`
            : kind === 3
              ? `run.plan.destroy > ${i + 100} || (run.kind == "destroy" && run.plan.add > ${i})`
              : `run.plan.change > 0 && run.requestedBy != "U0NOBODY${i}"`;
    // The kind-4 rules match: as warn rules they are shown and recorded, never block.
    const effect =
      kind === 4
        ? `deny: "large change (${i})"\n        mode: warn`
        : kind === 3
          ? `require: { plan: { count: 1, from: [U0SECURITY] } }`
          : `deny: "refused by rule ${i}"`;
    out.push(`      - name: rule-${i}\n        when: '${when}'\n        ${effect}`);
  }
  return out.join('\n');
}

const deployment = (name: string, extra = '') => `
  - name: ${name}
    environment: production
    approvers: [U0APPROVER]
    notify: none
    source: { kind: directory, path: ./app }
    variables:
      image_tag: { type: string, default: "1.0.0" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }${extra}`;

export const CONFIG = `timezone: Europe/Berlin
deployments:${deployment('ruled', `\n    rules:\n${rules()}`)}${deployment('plain')}
`;

const CHANGES: PlannedChange[] = Array.from({ length: 20 }, (_, i) => ({
  address: `aws_instance.web[${i}]`,
  action: i % 4 === 0 ? 'create' : 'update',
}));

const APPROVER: Actor = { id: 'U0APPROVER', via: 'cli' };

/** A run of `name` waiting for its plan approval, as a worker leaves it. */
export async function waitingRun(core: DeployCore, name: string): Promise<string> {
  const d = core.deployment(name);
  const runId = newId('run');
  const planId = newId('plan');
  await core.db.transaction(async (tx) => {
    const [run] = await tx
      .insert(runs)
      .values({
        id: runId,
        deployment: name,
        environment: d.environment,
        kind: 'execute',
        status: 'awaiting_plan_approval',
        requestedBy: 'U0REQUESTER',
        requestedVia: 'cli',
        variables: { image_tag: '1.4.2' },
        secretVariables: encryptSecretVariables({}),
        source: {
          kind: 'directory',
          gitRef: null,
          commit: null,
          baseDirectory: null,
          location: '.',
        },
        config: sealConfig(runSnapshot(d)),
        configVersion: core.configVersion?.hash ?? null,
        planId,
      })
      .returning();
    if (!run) throw new Error('bench: inserting a run returned nothing');
    const facts = { known: true, add: 5, change: 15, destroy: 0, changes: CHANGES };
    // As the worker leaves a plan: with the rules' verdict on it.
    const verdict = await planReadyVerdict(tx, run, facts);
    await insertPlan(
      tx,
      {
        id: planId,
        runId,
        ...facts,
        text: 'plan',
        artifactHash: 'sha256:bench',
        rulesEvaluated: verdict?.evaluated ?? null,
        rulesMatched: verdict ? [...verdict.rules] : null,
      },
      [],
    );
  });
  return runId;
}

export async function benchPolicy(report: Report) {
  const db = await freshDatabase('policy');
  const ws = workspace(CONFIG, {});
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  try {
    const section = report.section(
      `A decision with ${RULES} rules vs the same decision with none: Approve plan through the core API, ${DECISIONS} of each, interleaved`,
      'npm run bench -- policy',
    );
    // The runs first (not measured), alternating deployments.
    const pairs: [string, string][] = [];
    for (let i = 0; i < DECISIONS + 20; i++)
      pairs.push([await waitingRun(core, 'ruled'), await waitingRun(core, 'plain')]);
    // Settle the seeded tables as a live database is (autovacuum would otherwise
    // analyze them mid-measurement) and start from a fresh checkpoint.
    await core.connection.sql.unsafe('vacuum analyze');
    await core.connection.sql.unsafe('checkpoint');
    const timed = async (runId: string) => {
      const t0 = performance.now();
      const view = await core.approvePlan(runId, APPROVER);
      const took = performance.now() - t0;
      if (view.status !== 'awaiting_apply_approval')
        throw new Error(`bench: ${runId} is ${view.status} after its approval`);
      return took;
    };
    const withRules: number[] = [];
    const without: number[] = [];
    for (const [i, [ruled, plain]] of pairs.entries()) {
      // Alternate which goes first, so neither always follows the other.
      let r: number;
      let p: number;
      if (i % 2 === 0) {
        r = await timed(ruled);
        p = await timed(plain);
      } else {
        p = await timed(plain);
        r = await timed(ruled);
      }
      // The first 20 pairs warm up.
      if (i < 20) continue;
      withRules.push(r);
      without.push(p);
    }
    const r = summarize(withRules);
    const n = summarize(without);
    row(section, `p50 with ${RULES} rules / with none`, `${ms(r.p50)} / ${ms(n.p50)}`);
    row(section, `p99 with ${RULES} rules / with none`, `${ms(r.p99)} / ${ms(n.p99)}`);
    const paired = summarize(withRules.map((x, i) => x - (without[i] ?? x)));
    row(
      section,
      'added by the rules, median of the paired differences',
      `${paired.p50.toFixed(3)} ms`,
    );
    row(
      section,
      'added by the rules at p50',
      `${(r.p50 - n.p50).toFixed(3)} ms (${(r.p50 / n.p50).toFixed(2)}×)`,
    );
    const added = r.p99 - n.p99;
    row(section, 'added by the rules at p99', `${added.toFixed(3)} ms`, '≤ 1 ms', added <= 1);
    const sure = bootstrapInterval(withRules, without, 99, (x, y) => x - y);
    row(
      section,
      'the same, 90% bootstrap interval',
      `${sure.low.toFixed(2)} to ${sure.high.toFixed(2)} ms`,
    );

    // The evaluation alone (compiled conditions, in process), on a fresh input
    // each time as a decision does: the CPU the rules cost, without the database.
    const compiled = compileRules(core.deployment('ruled').appliedRules);
    const facts = {
      deployment: 'ruled',
      environment: 'production',
      kind: 'execute',
      requestedBy: 'U0REQUESTER',
      requestedVia: 'cli',
      variables: { image_tag: '1.4.2' },
      plan: { known: true, add: 5, change: 15, destroy: 0, changes: CHANGES },
      approvals: [],
      timezone: 'Europe/Berlin',
    };
    const evals: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      evaluateRules(compiled, conditionInputOf(facts, new Date()));
      evals.push(performance.now() - t0);
    }
    const e = summarize(evals.slice(200));
    row(section, `evaluating the ${RULES} rules alone, p50 / p99`, `${ms(e.p50)} / ${ms(e.p99)}`);
    row(section, 'load average (1 min) at the end, on 2 cores', os.loadavg()[0]?.toFixed(1) ?? '?');
    section.notes.push(
      `Both deployments are in one config; the runs are written straight into awaiting_plan_approval with a 20-change plan (no step process runs) carrying the rules' verdict from when it became ready, as a worker leaves it, and each pair's order alternates. A decision is core.approvePlan(): the run row locked, the checks, the approval stored, the transition with its audit row and NOTIFY. For the deployment with rules it adds the rules (5 kinds of conditions over the plan's changes and counts, now, variables and the requester): the 10 that read now are evaluated, the 40 that read only the run and its plan take their answer from the plan's verdict (they cannot have changed), and the evaluation is kept on the approval row the decision writes anyway (a few more columns holding only what the decision evaluated itself, no row of its own). None reads approvals, so the view the decision returns reuses the decision's evaluation. None of the rules stops the decision: 30 deny and 10 require rules do not match, 10 warn rules match and are recorded. ` +
        `Each figure is over ${DECISIONS} decisions of each kind, after the seeded tables are vacuumed and analyzed and a checkpoint is taken (so that autovacuum and a checkpoint do not land mid-measurement). On this shared machine a decision's p99 is about 4x its p50 and lies where samples are sparse: stalls land on a decision in proportion to its length, so p99 moves by a millisecond or more between runs, and the bootstrap interval says how far. ` +
        'The first 20 pairs warm up and are not counted.',
    );
  } finally {
    await core.close();
    await db.drop();
  }
}
