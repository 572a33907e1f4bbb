import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotHttpServer } from '../src/bot/http/receiver.ts';
import { botRoutes } from '../src/bot/http/routes.ts';
import { localBotPort } from '../src/bot/local-port.ts';
import { silentLog } from '../src/bot/log.ts';
import { metricsEndpoint } from '../src/core/metrics/endpoint.ts';
import { type MetricsServer, startMetricsServer } from '../src/core/metrics/server.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: svc
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./svc }
    variables:
      mode: { type: select, options: [ok, apply_fail, verify_fail], default: ok }
      token: { type: string, sensitive: true, default: "s3cr3t-value-42" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, rollback: ./rollback.sh, timeout: 5s }
    verify: { command: ./verify.sh, timeout: 5s }
`;

const FILES = {
  'svc/plan.sh': `echo '{"changes":[{"address":"svc.main","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'svc/apply.sh': `echo "apply $DEPLOY_VAR_mode"\n[ "$DEPLOY_VAR_mode" = apply_fail ] && { echo "disk full" >&2; exit 7; }\necho ok\n`,
  'svc/verify.sh': `[ "$DEPLOY_VAR_mode" = verify_fail ] && { echo "502"; exit 1; }\necho healthy\n`,
  'svc/rollback.sh': 'echo restored\n',
};

let h: Harness;
let server: MetricsServer;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  server = await startMetricsServer({
    endpoint: metricsEndpoint(h.core.connection.sql),
    port: 0,
    host: '127.0.0.1',
    onError: (error) => {
      throw error;
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await h?.close();
});

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Prometheus text → samples (the exposition format prom-client writes: no timestamps). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!;
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function scrape(port = server.port): Promise<{ text: string; samples: Sample[] }> {
  // The shared figures are cached for a second: wait that out so a scrape sees the last change.
  await new Promise((r) => setTimeout(r, 1100));
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parse(text) };
}

const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

async function runToEnd(mode: string) {
  const run = await h.core.requestRun({
    deployment: 'svc',
    variables: { mode },
    kind: 'execute',
    actor: REQUESTER,
  });
  const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
  await h.core.approvePlan(run.id, APPROVER, { planId: planned.plan!.id });
  await h.core.confirmApply(run.id, APPROVER, { planId: planned.plan!.id });
  return h.waitFor(run.id, ['completed', 'failed', 'rolled_back', 'rollback_failed']);
}

describe('GET /metrics', () => {
  it.skipIf(promtool === undefined)(
    'is valid Prometheus text (promtool check metrics)',
    async () => {
      const { text } = await scrape();
      const check = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // promtool parses the whole text (a parse error is fatal) and lints each name. The
      // only lint findings allowed are prom-client's own Node.js gauges named …_total
      // (nodejs_active_handles_total and the like), which this project does not name.
      const findings = (check.stdout + check.stderr).split('\n').filter((l) => l.trim() !== '');
      expect(
        findings.filter((l) => !/^nodejs_active_\w+_total non-counter metrics/.test(l)),
      ).toEqual([]);
      expect(check.error).toBeUndefined();
    },
  );

  it('counts finished runs by outcome, phase times, approval waits and decisions as runs go', async () => {
    const before = (await scrape()).samples;
    const finished = (outcome: string, s: Sample[]) =>
      value(s, 'deploybot_runs_finished_total', {
        deployment: 'svc',
        environment: 'staging',
        kind: 'execute',
        outcome,
      });

    expect((await runToEnd('ok')).status).toBe('completed');
    expect((await runToEnd('apply_fail')).status).toBe('failed');
    expect((await runToEnd('verify_fail')).status).toBe('rolled_back');
    // A refused decision: the requester may not approve their own run.
    const refused = await h.core.requestRun({
      deployment: 'svc',
      variables: {},
      kind: 'execute',
      actor: REQUESTER,
    });
    await h.waitFor(refused.id, 'awaiting_plan_approval');
    await expect(h.core.approvePlan(refused.id, REQUESTER)).rejects.toThrow();
    await h.core.cancelRun(refused.id, REQUESTER, { reason: 'test' });

    const { samples: after, text } = await scrape();
    expect(finished('completed', after) - finished('completed', before)).toBe(1);
    expect(finished('failed', after) - finished('failed', before)).toBe(1);
    expect(finished('rolled_back', after) - finished('rolled_back', before)).toBe(1);
    expect(finished('cancelled', after) - finished('cancelled', before)).toBe(1);

    const count = (s: Sample[], labels: Record<string, string>) =>
      value(s, 'deploybot_run_status_duration_seconds_count', labels);
    expect(count(after, { status: 'applying' }) - count(before, { status: 'applying' })).toBe(3);
    expect(count(after, { status: 'verifying' }) - count(before, { status: 'verifying' })).toBe(2);
    expect(count(after, { phase: 'rollback' }) - count(before, { phase: 'rollback' })).toBe(1);
    const waits = (s: Sample[], stage: string) =>
      value(s, 'deploybot_approval_wait_seconds_count', { stage });
    expect(waits(after, 'plan') - waits(before, 'plan')).toBe(4);
    expect(waits(after, 'apply') - waits(before, 'apply')).toBe(3);

    const decisions = (s: Sample[], labels: Record<string, string>) =>
      value(s, 'deploybot_decisions_total', labels);
    expect(
      decisions(after, { decision: 'approve_plan', result: 'accepted' }) -
        decisions(before, { decision: 'approve_plan', result: 'accepted' }),
    ).toBe(3);
    expect(
      decisions(after, { decision: 'approve_plan', result: 'refused' }) -
        decisions(before, { decision: 'approve_plan', result: 'refused' }),
    ).toBe(1);
    expect(
      value(after, 'deploybot_last_success_timestamp_seconds', { deployment: 'svc' }),
    ).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(value(after, 'deploybot_run_log_lines_total', { result: 'written' })).toBeGreaterThan(
      value(before, 'deploybot_run_log_lines_total', { result: 'written' }),
    );
    expect(value(after, 'deploybot_runs_active', { status: 'applying' })).toBe(0);
    expect(value(after, 'deploybot_database_up')).toBe(1);
    expect(value(after, 'deploybot_processes', { role: 'worker' })).toBeGreaterThanOrEqual(0);
    // Default process metrics are there too.
    expect(value(after, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // No user id, run id or variable value is ever a label.
    expect(text).not.toContain('U0REQUESTER');
    expect(text).not.toContain('U0APPROVER');
    expect(text).not.toContain(refused.id);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toMatch(/mode="/);
  });

  it('runs active by status and the oldest in each, from the database', async () => {
    const run = await h.core.requestRun({
      deployment: 'svc',
      variables: {},
      kind: 'execute',
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const { samples } = await scrape();
    expect(value(samples, 'deploybot_runs_active', { status: 'awaiting_plan_approval' })).toBe(1);
    expect(
      value(samples, 'deploybot_runs_oldest_in_status_seconds', {
        status: 'awaiting_plan_approval',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'deploybot_runs_active', { status: 'queued' })).toBe(0);
    await h.core.cancelRun(run.id, REQUESTER);
  });

  it("is served on serve's HTTP server too, as text", async () => {
    const http = new BotHttpServer({
      signingSecret: null,
      port: 0,
      host: '127.0.0.1',
      log: silentLog,
      routes: botRoutes({ core: localBotPort(h.core), apiToken: undefined, log: silentLog }),
    });
    const address = await http.start();
    try {
      const { text, samples } = await scrape(address.port);
      expect(text).toContain('# TYPE deploybot_runs_finished_total counter');
      expect(value(samples, 'deploybot_database_up')).toBe(1);
    } finally {
      await http.stop();
    }
  });
});

describe('examples/monitoring', () => {
  it('the alert rules and the dashboard use only metrics a scrape has', async () => {
    const { text } = await scrape();
    const names = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    for (const file of [
      'examples/monitoring/alerts.yml',
      'examples/monitoring/grafana-dashboard.json',
    ]) {
      const used = new Set(
        readFileSync(file, 'utf8').match(/\b(?:deploybot|process|nodejs)_\w+\b(?!\*)/g),
      );
      const missing = [...used]
        .map((n) => n.replace(/_(bucket|count|sum)$/, ''))
        .filter((n) => !names.has(n));
      expect({ file, missing }).toEqual({ file, missing: [] });
    }
  });

  it.skipIf(promtool === undefined)(
    'the alert rules pass promtool check rules and their unit tests',
    () => {
      const check = spawnSync(promtool!, ['check', 'rules', 'alerts.yml'], {
        cwd: 'examples/monitoring',
        encoding: 'utf8',
      });
      expect(check.stdout + check.stderr).toMatch(/SUCCESS: \d+ rules found/);
      expect(check.status).toBe(0);
      const unit = spawnSync(promtool!, ['test', 'rules', 'alerts.test.yml'], {
        cwd: 'examples/monitoring',
        encoding: 'utf8',
      });
      expect(unit.stdout + unit.stderr).toMatch(/SUCCESS/);
      expect(unit.status).toBe(0);
    },
  );
});

describe('METRICS_PORT', () => {
  const worker = (metricsPort: string) =>
    spawn(
      process.execPath,
      ['bin/deploy-bot.js', 'worker', '--config', `${h.dir}/deploy.config.yaml`],
      {
        env: {
          ...process.env,
          METRICS_PORT: metricsPort,
          METRICS_HOST: '127.0.0.1',
          DATABASE_URL: h.db.url,
          DEPLOY_BOT_DATA_DIR: h.dataDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );

  it('a worker process serves /metrics on it, and counts itself among the workers', async () => {
    const child = worker('0');
    try {
      let out = '';
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
          const m = /Prometheus metrics on port (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
      });
      const { samples } = await scrape(port);
      expect(value(samples, 'deploybot_processes', { role: 'worker' })).toBeGreaterThanOrEqual(1);
      expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('a bad value is refused with what to set', async () => {
    const child = worker('ninety');
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/METRICS_PORT must be a port number/);
  });
});
