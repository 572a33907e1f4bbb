import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

// One deployment whose steps misbehave on demand (variable `mode`), one without
// rollback, one from a git repository, one whose source is missing.
const CONFIG = `
deployments:
  - name: svc
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./svc }
    variables:
      mode: { type: select, options: [ok, plan_fail, apply_fail, apply_denied, verify_fail, rollback_fail, slow_plan, bad_plan_doc], default: ok }
      token: { type: string, sensitive: true, default: "s3cr3t-token-value" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, destroyPlan: ./plan.sh, destroy: ./destroy.sh, rollback: ./rollback.sh, timeout: 1500ms }
    verify: { command: ./verify.sh, timeout: 5s }
  - name: norollback
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./svc }
    variables:
      mode: { type: select, options: [ok, verify_fail], default: ok }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 5s }
    verify:
      http: { url: "http://127.0.0.1:9/healthz", timeout: 300ms, retries: 1, interval: 100ms }
  - name: from-git
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: git-repository, url: "file://{{dir}}/repo.git", ref: main, baseDirectory: deploy }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 5s }
  - name: from-git-typo
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: git-repository, url: "file://{{dir}}/repo.git", ref: mian, baseDirectory: deploy }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 5s }
  - name: lost-source
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./does-not-exist }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }
`;

const FILES = {
  'svc/plan.sh': `
case "$DEPLOY_VAR_mode" in
  plan_fail) echo "cannot reach the provider" >&2; exit 3 ;;
  slow_plan) sleep 30 ;;
  bad_plan_doc) echo '{"changes":[{"address":"x","action":"nuke"}]}' > "$DEPLOY_PLAN_FILE"; exit 0 ;;
esac
echo '{"changes":[{"address":"svc.main","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
`,
  'svc/apply.sh': `
echo "apply $DEPLOY_VAR_mode"
[ "$DEPLOY_VAR_mode" = apply_fail ] && { echo "disk full" >&2; exit 7; }
if [ "$DEPLOY_VAR_mode" = apply_denied ]; then
  echo "creating bucket acc-logs"
  echo "using token $DEPLOY_VAR_token" >&2
  echo "Error: AccessDenied: not allowed to create bucket acc-logs (token $DEPLOY_VAR_token)" >&2
  exit 3
fi
echo ok
`,
  'svc/destroy.sh': 'echo destroying; echo gone\n',
  'svc/verify.sh': `
case "$DEPLOY_VAR_mode" in verify_fail|rollback_fail) echo "smoke test: 502 from the service"; exit 1 ;; esac
echo healthy
`,
  'svc/rollback.sh': `
echo "rolling back"
[ "$DEPLOY_VAR_mode" = rollback_fail ] && { echo "previous image is gone" >&2; exit 4; }
echo "restored"
`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  // A real git repository (bare, served over file://) with the steps in deploy/.
  const work = path.join(h.dir, 'repo-work');
  mkdirSync(path.join(work, 'deploy'), { recursive: true });
  h.script(
    'repo-work/deploy/plan.sh',
    `echo "plan from git $(git rev-parse --short HEAD 2>/dev/null || echo nogit)"\n echo '{"changes":[{"address":"git.thing","action":"create"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  );
  h.script('repo-work/deploy/apply.sh', 'echo applied from git\n');
  writeFileSync(path.join(work, 'README'), 'x');
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: work,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-qm', 'init');
  execFileSync('git', ['clone', '-q', '--bare', work, path.join(h.dir, 'repo.git')]);
});
afterAll(async () => {
  await h?.close();
});

async function approveAndApply(runId: string) {
  const planned = await h.waitFor(runId, 'awaiting_plan_approval');
  await h.core.approvePlan(runId, APPROVER, { planId: planned.plan!.id });
  await h.core.confirmApply(runId, APPROVER, { planId: planned.plan!.id });
}

const request = (
  deployment: string,
  variables: Record<string, string> = {},
  kind: 'execute' | 'destroy' = 'execute',
) => h.core.requestRun({ deployment, variables, kind, actor: REQUESTER });

describe('failures, each with its phase and a concrete hint', () => {
  it('detect: a missing source directory names the setting to fix', async () => {
    const run = await request('lost-source');
    const failed = await h.waitFor(run.id, 'failed');
    expect(failed.failedPhase).toBe('detect');
    expect(failed.error).toMatch(/source directory .*does-not-exist does not exist/);
    expect(failed.recoveryHint?.text).toMatch(/source\.path \('\.\/does-not-exist'/);
  });

  it('detect: a git ref that does not exist says so, with the url', async () => {
    const run = await request('from-git-typo');
    const failed = await h.waitFor(run.id, 'failed');
    expect(failed.failedPhase).toBe('detect');
    expect(failed.recoveryHint?.text).toBe(
      `git ref 'mian' does not exist in file://${h.dir}/repo.git: check the ref, or the deployment's source.ref`,
    );
  });

  it('git: plans and applies the commit the ref resolved to', async () => {
    const run = await request('from-git');
    const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
    expect(planned.sourceSummary).toMatchObject({
      kind: 'git-repository',
      gitRef: 'main',
      baseDirectory: 'deploy',
    });
    expect(planned.sourceSummary.commit).toMatch(/^[0-9a-f]{40}$/);
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    await h.waitFor(run.id, 'completed');
    const text = (await h.core.readLogs(run.id)).map((l) => l.line).join('\n');
    expect(text).toContain('applied from git');
  });

  it('plan: a failing plan step fails the run in plan, keeping its log', async () => {
    const run = await request('svc', { mode: 'plan_fail' });
    const failed = await h.waitFor(run.id, 'failed');
    expect(failed.failedPhase).toBe('plan');
    expect(failed.error).toBe('plan step ./plan.sh exited with code 3: cannot reach the provider');
    expect(failed.recoveryHint?.text).toMatch(
      /^plan step \.\/plan\.sh exited with code 3: read its log/,
    );
    const logs = await h.core.readLogs(run.id);
    expect(logs.some((l) => l.stream === 'stderr' && l.line === 'cannot reach the provider')).toBe(
      true,
    );
  });

  it('plan: an invalid changes document says where it is wrong', async () => {
    const run = await request('svc', { mode: 'bad_plan_doc' });
    const failed = await h.waitFor(run.id, 'failed');
    expect(failed.failedPhase).toBe('plan');
    expect(failed.error).toMatch(/changes\[0\]\.action/);
  });

  it('plan: a step past its timeout is killed, and the hint names the step and the limit', async () => {
    const run = await request('svc', { mode: 'slow_plan' });
    const failed = await h.waitFor(run.id, 'failed', 20_000);
    expect(failed.failedPhase).toBe('plan');
    expect(failed.error).toBe('plan step ./plan.sh ran longer than its 1.5s limit and was stopped');
    expect(failed.recoveryHint?.text).toMatch(/exceeded executor\.timeout/);
  });

  it('execute: a failing apply fails in execute and warns that infrastructure may be partly changed', async () => {
    const run = await request('svc', { mode: 'apply_fail' });
    await approveAndApply(run.id);
    const failed = await h.waitFor(run.id, 'failed');
    expect(failed.failedPhase).toBe('execute');
    expect(failed.error).toBe('apply step ./apply.sh exited with code 7: disk full');
    expect(failed.recoveryHint?.text).toMatch(/partly changed/);
  });

  it("execute: the run's error carries the step's own Error: line, redacted; the hint stays the phase's", async () => {
    const run = await request('svc', { mode: 'apply_denied' });
    await approveAndApply(run.id);
    const failed = await h.waitFor(run.id, 'failed');
    expect(failed.failedPhase).toBe('execute');
    expect(failed.error).toBe(
      'apply step ./apply.sh exited with code 3: Error: AccessDenied: not allowed to create bucket acc-logs (token ••••••)',
    );
    expect(failed.recoveryHint?.text).toBe(
      'apply step ./apply.sh exited with code 3: read its log, then inspect the server, credentials, build and runtime logs; infrastructure may be partly changed: inspect it, then run the deployment again; its plan shows what exists now',
    );
    // What to do next comes as data too: each front end words it (a command, the thread, a key).
    expect(failed.recoveryHint?.steps).toEqual([
      { kind: 'see_logs', runId: run.id },
      { kind: 'run_again', deployment: 'svc', runKind: 'execute' },
    ]);
    expect(failed.recoveryHint?.text).not.toMatch(/deploy-bot|--as|<#/);
    // The same error wherever the run is read: the API's and status --json's view, the run list.
    const [listed] = (await h.core.listRuns({ deployment: 'svc', limit: 1 })).filter(
      (r) => r.id === run.id,
    );
    expect(listed?.error).toBe(failed.error);
    expect(JSON.stringify(failed)).not.toContain('s3cr3t');
  });

  it('verify without rollback: fails in verify with the health check named', async () => {
    const run = await request('norollback');
    await approveAndApply(run.id);
    const failed = await h.waitFor(run.id, 'failed', 20_000);
    expect(failed.failedPhase).toBe('verify');
    expect(failed.error).toMatch(
      /^health check http:\/\/127\.0\.0\.1:9\/healthz could not be reached .* after 2 attempts$/,
    );
    expect(failed.recoveryHint?.text).toMatch(
      /health endpoint, its listener port, the proxy and the access route/,
    );
  });

  it('verify failure with a rollback that works ends rolled_back, never as success', async () => {
    const run = await request('svc', { mode: 'verify_fail' });
    await approveAndApply(run.id);
    const done = await h.waitFor(run.id, ['rolled_back', 'completed', 'failed', 'rollback_failed']);
    expect(done.status).toBe('rolled_back');
    expect(done.statusLabel).toMatch(/failed, recovered/);
    expect(done.failedPhase).toBe('verify');
    expect(done.error).toMatch(/verify command \.\/verify\.sh exited with code 1/);
    const audit = await h.core.transitions(run.id);
    expect(audit.map((t) => t.to).slice(-4)).toEqual([
      'applying',
      'verifying',
      'rolling_back',
      'rolled_back',
    ]);
  });

  it('a rollback that fails ends rollback_failed, asking for manual intervention', async () => {
    const run = await request('svc', { mode: 'rollback_fail' });
    await approveAndApply(run.id);
    const done = await h.waitFor(run.id, ['rollback_failed', 'rolled_back', 'completed']);
    expect(done.status).toBe('rollback_failed');
    expect(done.failedPhase).toBe('rollback');
    expect(done.recoveryHint?.text).toMatch(/^manual intervention is required/);
    expect(done.recoveryHint?.steps).toEqual([{ kind: 'save_logs', runId: run.id }]);
    expect(done.error).toMatch(
      /^rollback step \.\/rollback\.sh exited with code 4: previous image is gone \(after verify failed: verify command \.\/verify\.sh exited with code 1: smoke test: 502 from the service\)$/,
    );
    const logs = (await h.core.readLogs(run.id)).map((l) => l.line);
    expect(logs).toContain('previous image is gone');
  });

  it('destroy: plans the removal, takes both approvals, ends destroyed', async () => {
    const run = await request('svc', {}, 'destroy');
    await approveAndApply(run.id);
    const done = await h.waitFor(run.id, 'destroyed');
    expect(done.kind).toBe('destroy');
    const audit = await h.core.transitions(run.id);
    expect(audit.map((t) => t.to).slice(-3)).toEqual([
      'awaiting_apply_approval',
      'destroying',
      'destroyed',
    ]);
  });
});
