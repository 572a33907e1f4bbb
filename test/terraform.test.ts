import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTerraformOutputs } from '../src/core/executors/terraform.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

// No Terraform binary can be installed here: a stand-in `terraform` script
// records each call and answers like terraform does (plan -out writes the plan
// file, show -json prints a JSON plan, output -json prints outputs), so the
// executor's real process handling, plan storage and restore are exercised.
const FAKE_TERRAFORM = `#!/bin/sh
set -eu
echo "$*" >> "$DEPLOY_STATE_DIR/calls"
case "$1" in
  init) echo "Terraform has been successfully initialized!" ;;
  version) echo "Terraform v1.9.0" ;;
  plan)
    for a in "$@"; do case "$a" in -out=*) out="\${a#-out=}" ;; esac; done
    destroy=no; for a in "$@"; do [ "$a" = -destroy ] && destroy=yes; done
    echo "plan for region=$TF_VAR_region destroy=$destroy" > "$out"
    echo "Plan: 1 to add, 1 to change, 0 to destroy."
    ;;
  show)
    if grep -q "destroy=yes" "$3"; then
      echo '{"format_version":"1.2","resource_changes":[{"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs","change":{"actions":["delete"],"before":{},"after":null}}]}'
    else
      echo '{"format_version":"1.2","resource_changes":[{"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs","change":{"actions":["create"],"before":null,"after":{"bucket":"logs"}}},{"address":"aws_iam_role.app","mode":"managed","type":"aws_iam_role","name":"app","change":{"actions":["update"],"before":{},"after":{"password":"tf-secret-in-plan"}}},{"address":"data.aws_caller_identity.me","mode":"data","type":"aws_caller_identity","name":"me","change":{"actions":["read"]}}]}'
    fi
    ;;
  apply)
    plan="$(eval echo \\\${$#})"
    echo "applying saved plan: $(cat "$plan")"
    cp "$plan" "$DEPLOY_STATE_DIR/applied-plan"
    ;;
  output) echo '{"bucket":{"value":"logs-123","type":"string","sensitive":false},"db_password":{"value":"hunter2","type":"string","sensitive":true}}' ;;
  *) echo "unknown command $1" >&2; exit 1 ;;
esac
`;

const CONFIG = `
deployments:
  - name: infra
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./tf }
    variables:
      region: { type: select, options: [eu-west-1, us-east-1], default: eu-west-1 }
    executor: { kind: terraform, binary: ./bin/terraform, timeout: 30s }
  - name: no-binary
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./tf }
    executor: { kind: terraform, binary: tofu-not-installed }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: CONFIG,
    files: { 'bin/terraform': FAKE_TERRAFORM, 'tf/main.tf': '# resources\n' },
  });
});
afterAll(async () => {
  await h?.close();
});

const allCalls = () =>
  readFileSync(path.join(h.dataDir, 'state', 'infra', 'calls'), 'utf8')
    .trim()
    .split('\n');
// `version` is asked at plan and at apply: the binary's identity is part of the approval.
const calls = () => allCalls().filter((c) => c !== 'version');

describe('terraform executor', () => {
  it('init, plan -out, show -json; apply of the saved plan restored on the worker; output -json', async () => {
    const run = await h.core.requestRun({
      deployment: 'infra',
      variables: { region: 'us-east-1' },
      actor: REQUESTER,
    });
    const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
    expect(planned.plan).toMatchObject({ known: true, add: 1, change: 1, destroy: 0 });
    expect(planned.plan?.changes).toEqual([
      { address: 'aws_s3_bucket.logs', action: 'create' },
      { address: 'aws_iam_role.app', action: 'update' },
    ]);
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    const done = await h.waitFor(run.id, 'completed');
    expect(done.outputs).toEqual({ bucket: 'logs-123', db_password: '••••••' });
    const c = calls();
    expect(c[0]).toBe('init -input=false -no-color');
    expect(c[1]).toMatch(/^plan -input=false -no-color -out=.*\/artifacts\/tfplan$/);
    expect(c[2]).toMatch(/^show -json .*\/tfplan$/);
    expect(c[3]).toBe('init -input=false -no-color');
    expect(c[4]).toMatch(/^apply -input=false -no-color -auto-approve .*\/tfplan$/);
    expect(c[5]).toBe('output -json -no-color');
    expect(allCalls().filter((x) => x === 'version')).toHaveLength(2);
    // The exact planned file (made with TF_VAR_region) was applied.
    expect(readFileSync(path.join(h.dataDir, 'state', 'infra', 'applied-plan'), 'utf8')).toBe(
      'plan for region=us-east-1 destroy=no\n',
    );
    const logs = (await h.core.readLogs(run.id)).map((l) => l.line).join('\n');
    expect(logs).toContain('Plan: 1 to add, 1 to change, 0 to destroy.');
    // The JSON plan (with values) is parsed, never logged.
    expect(logs).not.toContain('tf-secret-in-plan');
    expect(logs).not.toContain('hunter2');
  });

  it('destroy plans with -destroy and applies that plan', async () => {
    const run = await h.core.requestRun({ deployment: 'infra', kind: 'destroy', actor: REQUESTER });
    const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
    expect(planned.plan).toMatchObject({ add: 0, change: 0, destroy: 1 });
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    await h.waitFor(run.id, 'destroyed');
    expect(calls().some((c) => / -destroy -out=/.test(c))).toBe(true);
  });

  it('a missing binary fails in detect with what to install', async () => {
    const run = await h.core.requestRun({ deployment: 'no-binary', actor: REQUESTER });
    const failed = await h.waitFor(run.id, 'failed');
    expect(failed.failedPhase).toBe('detect');
    expect(failed.error).toBe('tofu-not-installed is not installed on this worker');
    expect(failed.recoveryHint?.text).toMatch(
      /^install tofu-not-installed on the workers, or set executor\.binary/,
    );
  });

  it('masks sensitive outputs', () => {
    expect(
      parseTerraformOutputs(
        '{"a":{"value":1,"sensitive":false},"b":{"value":"x","sensitive":true}}',
      ),
    ).toEqual({
      a: 1,
      b: '••••••',
    });
    expect(parseTerraformOutputs('')).toEqual({});
  });
});
