import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PlannedChange } from '../src/core/api/types.ts';
import {
  PlanDocumentError,
  type PlanSummary,
  summarizeChangesDocument,
  summarizePlanDocument,
  summarizeTerraformPlan,
  UNKNOWN_PLAN,
} from '../src/core/executors/plan-summary.ts';

function fixture(path: string): string {
  return readFileSync(new URL(`./fixtures/${path}`, import.meta.url), 'utf8');
}

/** The PlanDocumentError `fn` throws (fails the test if it throws anything else). */
function planError(fn: () => unknown): PlanDocumentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PlanDocumentError);
    if (error instanceof PlanDocumentError) return error;
  }
  throw new Error('expected a PlanDocumentError, nothing was thrown');
}

type Entry = {
  address: string;
  actions: string[];
  mode?: string;
  previous_address?: string;
  importing?: Record<string, unknown>;
};

/** A minimal but well-formed `terraform show -json` plan. */
function tfPlan(entries: Entry[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format_version: '1.2',
    terraform_version: '1.9.8',
    planned_values: { root_module: {} },
    resource_changes: entries.map((e) => ({
      address: e.address,
      ...(e.previous_address === undefined ? {} : { previous_address: e.previous_address }),
      mode: e.mode ?? 'managed',
      type: e.address.replace(/^(module\.[^.]+\.)*(data\.)?/, '').split('.')[0],
      name: 'x',
      provider_name: 'registry.terraform.io/hashicorp/aws',
      change: {
        actions: e.actions,
        before: null,
        after: {},
        after_unknown: {},
        before_sensitive: false,
        after_sensitive: {},
        ...(e.importing === undefined ? {} : { importing: e.importing }),
      },
    })),
    timestamp: '2025-06-12T09:41:27Z',
    applyable: true,
    complete: true,
    errored: false,
    ...extra,
  };
}

function summary(
  add: number,
  change: number,
  destroy: number,
  changes: PlannedChange[],
  noChanges = false,
): PlanSummary {
  return { known: true, add, change, destroy, changes, noChanges };
}

describe('Terraform JSON plan fixtures', () => {
  it('create.json: a first deployment, including module and count-indexed resources', () => {
    expect(summarizePlanDocument(fixture('terraform/create.json'))).toEqual(
      summary(6, 0, 0, [
        { address: 'aws_instance.web[0]', action: 'create' },
        { address: 'aws_instance.web[1]', action: 'create' },
        { address: 'aws_security_group.web', action: 'create' },
        { address: 'module.db.aws_db_instance.main', action: 'create' },
        { address: 'module.db.aws_db_subnet_group.main', action: 'create' },
        { address: 'random_id.suffix', action: 'create' },
      ]),
    );
  });

  it('mixed.json: "Plan: 4 to add, 2 to change, 4 to destroy." in group order', () => {
    // Two replaces (one per order of actions) each count as 1 add and 1 destroy; the
    // data source read, the no-ops and the resource_drift entry are not counted.
    expect(summarizePlanDocument(fixture('terraform/mixed.json'))).toEqual(
      summary(4, 2, 4, [
        { address: 'aws_iam_role_policy.web', action: 'create' },
        { address: 'aws_instance.web[2]', action: 'create' },
        { address: 'aws_security_group.web', action: 'update' },
        { address: 'module.db.aws_db_instance.main', action: 'update' },
        { address: 'aws_instance.bastion', action: 'replace' },
        { address: 'aws_lb_target_group.web', action: 'replace' },
        { address: 'aws_instance.worker["b"]', action: 'delete' },
        { address: 'aws_s3_bucket.old_logs', action: 'delete' },
      ]),
    );
  });

  it('no-changes.json: every resource and output is a no-op', () => {
    expect(summarizePlanDocument(fixture('terraform/no-changes.json'))).toEqual(
      summary(0, 0, 0, [], true),
    );
  });

  it('outputs-only.json: known, nothing counted, but still something to apply', () => {
    expect(summarizePlanDocument(fixture('terraform/outputs-only.json'))).toEqual(
      summary(0, 0, 0, [], false),
    );
  });

  it('destroy.json: every managed resource destroyed, the data source not counted', () => {
    expect(summarizePlanDocument(fixture('terraform/destroy.json'))).toEqual(
      summary(0, 0, 7, [
        { address: 'aws_instance.web[0]', action: 'delete' },
        { address: 'aws_instance.web[1]', action: 'delete' },
        { address: 'aws_security_group.web', action: 'delete' },
        { address: 'aws_vpc.main', action: 'delete' },
        { address: 'module.db.aws_db_instance.main', action: 'delete' },
        { address: 'module.db.aws_db_subnet_group.main', action: 'delete' },
        { address: 'random_id.suffix', action: 'delete' },
      ]),
    );
  });

  it('sensitive.json: counts the changes and copies no value at all', () => {
    const text = fixture('terraform/sensitive.json');
    const secrets = [
      'Tr0ub4dor&3-prod-db-9f3kQ',
      'sk_live_51Hx-OLD-4eC39HqLyjWDarjtT1zdp7dc',
      'sk_live_51Hx-NEW-9aZ77QpLmnBVcxsdR4hfy2ke',
    ];
    // The plan really carries them in clear text, next to the masks.
    for (const secret of secrets) expect(text).toContain(secret);
    expect(text).toContain('"after_sensitive": {\n');

    const result = summarizePlanDocument(text);
    expect(result).toEqual(
      summary(1, 1, 0, [
        { address: 'module.db.aws_db_instance.main', action: 'create' },
        { address: 'aws_secretsmanager_secret_version.stripe', action: 'update' },
      ]),
    );
    const serialized = JSON.stringify(result);
    for (const secret of secrets) expect(serialized).not.toContain(secret);
    for (const change of result.changes)
      expect(Object.keys(change).sort()).toEqual(['action', 'address']);
  });

  it('gives the same answer through summarizeTerraformPlan on the parsed document', () => {
    for (const name of ['create', 'mixed', 'no-changes', 'outputs-only', 'destroy', 'sensitive']) {
      const text = fixture(`terraform/${name}.json`);
      expect(summarizeTerraformPlan(JSON.parse(text)), name).toEqual(summarizePlanDocument(text));
    }
  });
});

describe('Terraform counting rules', () => {
  it('counts a replace as 1 to add and 1 to destroy, in either order of actions', () => {
    const result = summarizeTerraformPlan(
      tfPlan([
        { address: 'aws_instance.a', actions: ['delete', 'create'] },
        { address: 'aws_instance.b', actions: ['create', 'delete'] },
      ]),
    );
    expect(result).toEqual(
      summary(2, 0, 2, [
        { address: 'aws_instance.a', action: 'replace' },
        { address: 'aws_instance.b', action: 'replace' },
      ]),
    );
  });

  it('does not count no-op, read or data sources; a read-only plan has no changes', () => {
    const result = summarizeTerraformPlan(
      tfPlan([
        { address: 'aws_vpc.main', actions: ['no-op'] },
        { address: 'data.aws_iam_policy_document.web', actions: ['read'], mode: 'data' },
        { address: 'module.net.data.aws_subnets.private', actions: ['read'], mode: 'data' },
        { address: 'data.aws_ami.ubuntu', actions: ['delete'], mode: 'data' },
      ]),
    );
    expect(result).toEqual(summary(0, 0, 0, [], true));
  });

  it('does not count ["forget"] (removed blocks), but a forget-only plan still applies', () => {
    const result = summarizeTerraformPlan(
      tfPlan([
        { address: 'aws_s3_bucket.legacy', actions: ['forget'] },
        { address: 'aws_vpc.main', actions: ['no-op'] },
      ]),
    );
    expect(result).toEqual(summary(0, 0, 0, [], false));
  });

  it('counts ["create","forget"] as 1 to add and nothing to destroy, like terraform', () => {
    const result = summarizeTerraformPlan(
      tfPlan([{ address: 'aws_instance.web', actions: ['create', 'forget'] }]),
    );
    expect(result).toEqual(summary(1, 0, 0, [{ address: 'aws_instance.web', action: 'create' }]));
  });

  it('ignores resource_drift entirely', () => {
    const doc = tfPlan([{ address: 'aws_vpc.main', actions: ['no-op'] }], {
      resource_drift: [
        { address: 'aws_vpc.main', mode: 'managed', change: { actions: ['update'] } },
        { address: 'aws_instance.gone', mode: 'managed', change: { actions: ['delete'] } },
      ],
    });
    expect(summarizeTerraformPlan(doc)).toEqual(summary(0, 0, 0, [], true));
  });

  it('treats output-only, import-only and move-only plans as changes with nothing counted', () => {
    const outputsOnly = tfPlan([{ address: 'aws_vpc.main', actions: ['no-op'] }], {
      output_changes: {
        vpc_id: { actions: ['no-op'], before: 'vpc-1', after: 'vpc-1' },
        vpc_cidr: { actions: ['create'], before: null, after: '10.0.0.0/16' },
      },
    });
    expect(summarizeTerraformPlan(outputsOnly)).toEqual(summary(0, 0, 0, [], false));

    const noOpOutputs = tfPlan([], {
      output_changes: { vpc_id: { actions: ['no-op'], before: 'vpc-1', after: 'vpc-1' } },
    });
    expect(summarizeTerraformPlan(noOpOutputs)).toEqual(summary(0, 0, 0, [], true));

    const importOnly = tfPlan([
      { address: 'aws_s3_bucket.logs', actions: ['no-op'], importing: { id: 'acme-logs' } },
    ]);
    expect(summarizeTerraformPlan(importOnly)).toEqual(summary(0, 0, 0, [], false));

    const moveOnly = tfPlan([
      { address: 'module.net.aws_vpc.main', previous_address: 'aws_vpc.main', actions: ['no-op'] },
    ]);
    expect(summarizeTerraformPlan(moveOnly)).toEqual(summary(0, 0, 0, [], false));
  });

  it('reads a plan of an empty configuration (terraform omits resource_changes)', () => {
    const doc = tfPlan([]);
    delete doc.resource_changes;
    doc.applyable = false;
    expect(summarizeTerraformPlan(doc)).toEqual(summary(0, 0, 0, [], true));
  });

  it('sorts by address within each group, numeric indexes by value', () => {
    const result = summarizeTerraformPlan(
      tfPlan([
        { address: 'aws_instance.web[10]', actions: ['create'] },
        { address: 'aws_instance.web[2]', actions: ['create'] },
        { address: 'aws_instance.web["b"]', actions: ['delete'] },
        { address: 'aws_instance.web["a"]', actions: ['delete'] },
        { address: 'aws_instance.web[1]', actions: ['update'] },
        { address: 'aws_instance.old', actions: ['delete', 'create'] },
        { address: 'aws_instance.web[0]', actions: ['create'] },
      ]),
    );
    expect(result.changes).toEqual([
      { address: 'aws_instance.web[0]', action: 'create' },
      { address: 'aws_instance.web[2]', action: 'create' },
      { address: 'aws_instance.web[10]', action: 'create' },
      { address: 'aws_instance.web[1]', action: 'update' },
      { address: 'aws_instance.old', action: 'replace' },
      { address: 'aws_instance.web["a"]', action: 'delete' },
      { address: 'aws_instance.web["b"]', action: 'delete' },
    ]);
    expect([result.add, result.change, result.destroy]).toEqual([4, 1, 3]);
  });
});

describe('unknown and malformed Terraform plans', () => {
  it('rejects an unknown action value, naming the path, the value and the resource', () => {
    const doc = tfPlan([
      { address: 'aws_vpc.main', actions: ['no-op'] },
      { address: 'aws_instance.web', actions: ['nuke'] },
    ]);
    expect(planError(() => summarizeTerraformPlan(doc)).message).toBe(
      'plan file: resource_changes[1].change.actions[0]: expected one of no-op, create, read, ' +
        'update, delete, forget, got "nuke" (resource aws_instance.web)',
    );
  });

  it('rejects an unknown combination of known actions', () => {
    const doc = tfPlan([{ address: 'aws_instance.web', actions: ['update', 'delete'] }]);
    expect(planError(() => summarizeTerraformPlan(doc)).message).toBe(
      'plan file: resource_changes[0].change.actions: unsupported combination of actions ' +
        '["update","delete"] (resource aws_instance.web)',
    );
  });

  it('rejects empty or mistyped actions and missing addresses', () => {
    const empty = tfPlan([{ address: 'aws_instance.web', actions: [] }]);
    expect(planError(() => summarizeTerraformPlan(empty)).message).toBe(
      'plan file: resource_changes[0].change.actions: must not be an empty list (resource aws_instance.web)',
    );

    const mistyped = tfPlan([]);
    mistyped.resource_changes = [{ address: 'aws_instance.web', change: { actions: 'create' } }];
    expect(planError(() => summarizeTerraformPlan(mistyped)).message).toBe(
      'plan file: resource_changes[0].change.actions: expected an array, got a string (resource aws_instance.web)',
    );

    const noAddress = tfPlan([]);
    noAddress.resource_changes = [{ mode: 'managed', change: { actions: ['create'] } }];
    expect(planError(() => summarizeTerraformPlan(noAddress)).message).toBe(
      'plan file: resource_changes[0].address: missing (expected a string)',
    );

    const badOutput = tfPlan([], { output_changes: { 'web-url': { actions: ['explode'] } } });
    expect(planError(() => summarizeTerraformPlan(badOutput)).message).toBe(
      'plan file: output_changes["web-url"].actions[0]: expected one of no-op, create, read, ' +
        'update, delete, forget, got "explode"',
    );
  });

  it('never quotes before/after values in its errors', () => {
    const doc = JSON.parse(fixture('terraform/sensitive.json'));
    doc.resource_changes[2].change.actions = ['obliterate'];
    doc.resource_changes[1].change.actions = {
      secret: 'sk_live_51Hx-NEW-9aZ77QpLmnBVcxsdR4hfy2ke',
    };
    const error = planError(() => summarizeTerraformPlan(doc));
    expect(error.problems).toEqual([
      'plan file: resource_changes[1].change.actions: expected an array, got an object ' +
        '(resource aws_secretsmanager_secret_version.stripe)',
      'plan file: resource_changes[2].change.actions[0]: expected one of no-op, create, read, ' +
        'update, delete, forget, got "obliterate" (resource module.db.aws_db_instance.main)',
    ]);
    expect(error.message).toBe(error.problems.join('\n'));
    expect(error.message).not.toContain('sk_live');
    expect(error.message).not.toContain('Tr0ub4dor');
  });

  it('lists every problem but shows the first ten in the message', () => {
    const doc = tfPlan(
      Array.from({ length: 25 }, (_, i) => ({
        address: `aws_instance.web[${i}]`,
        actions: ['zap'],
      })),
    );
    const error = planError(() => summarizeTerraformPlan(doc));
    expect(error.problems).toHaveLength(25);
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toContain('resource_changes[0].change.actions[0]');
    expect(lines[10]).toBe('… and 15 more problems');
  });

  it('requires a 1.x format_version', () => {
    const future = tfPlan([], { format_version: '2.0' });
    expect(planError(() => summarizeTerraformPlan(future)).message).toBe(
      'plan file: format_version: unsupported plan format "2.0": only Terraform JSON plan format 1.x is understood',
    );
    const missing = tfPlan([]);
    delete missing.format_version;
    expect(planError(() => summarizeTerraformPlan(missing)).message).toBe(
      'plan file: format_version: missing (expected a string)',
    );
    expect(summarizeTerraformPlan(tfPlan([], { format_version: '1.0' })).known).toBe(true);
  });

  it('refuses a plan that errored while planning', () => {
    const doc = tfPlan([{ address: 'aws_instance.web', actions: ['create'] }], { errored: true });
    expect(planError(() => summarizeTerraformPlan(doc)).message).toBe(
      'plan file: errored: planning failed, so the plan is incomplete and cannot be used',
    );
  });

  it('recognizes a state (terraform show -json without the plan file)', () => {
    const state = {
      format_version: '1.0',
      terraform_version: '1.9.8',
      values: { root_module: {} },
    };
    expect(planError(() => summarizePlanDocument(JSON.stringify(state))).message).toMatch(
      /^plan file: this is a Terraform state, not a plan/,
    );
  });

  it('rejects a document that is not an object', () => {
    expect(planError(() => summarizeTerraformPlan([])).message).toBe(
      'plan file: expected an object, got an array',
    );
    expect(planError(() => summarizeTerraformPlan(null)).message).toBe(
      'plan file: expected an object, got null',
    );
  });
});

describe('changes documents', () => {
  it('valid.json: counts a replace as an add and a destroy and orders the groups', () => {
    expect(summarizePlanDocument(fixture('changes/valid.json'))).toEqual(
      summary(4, 1, 2, [
        { address: 'kubernetes_config_map.api["feature-flags"]', action: 'create' },
        { address: 'module.queue.aws_sqs_queue.jobs[2]', action: 'create' },
        { address: 'module.queue.aws_sqs_queue.jobs[10]', action: 'create' },
        { address: 'helm_release.api', action: 'update' },
        { address: 'kubernetes_secret.api_tls', action: 'replace' },
        { address: 'kubernetes_cron_job_v1.cleanup', action: 'delete' },
      ]),
    );
  });

  it('empty.json: an empty list means no changes', () => {
    expect(summarizePlanDocument(fixture('changes/empty.json'))).toEqual(
      summary(0, 0, 0, [], true),
    );
  });

  it('invalid-action.json: names the entry, the allowed actions and the value', () => {
    expect(
      planError(() => summarizePlanDocument(fixture('changes/invalid-action.json'))).message,
    ).toBe(
      'plan file: changes[3].action: expected one of create, update, delete, replace, got "nuke"',
    );
  });

  it('invalid-missing-address.json: names the missing key', () => {
    const text = fixture('changes/invalid-missing-address.json');
    expect(planError(() => summarizePlanDocument(text)).message).toBe(
      'plan file: changes[1].address: missing (expected a string)',
    );
  });

  it('invalid-not-a-list.json: says what was expected and what was found', () => {
    const text = fixture('changes/invalid-not-a-list.json');
    expect(planError(() => summarizePlanDocument(text)).message).toBe(
      'plan file: changes: expected an array, got an object',
    );
  });

  it('truncated.json: reports invalid JSON with its position', () => {
    const text = fixture('changes/truncated.json');
    expect(planError(() => summarizePlanDocument(text)).message).toMatch(
      /^plan file: not valid JSON: .*\(line 5 column 1\)$/,
    );
  });

  it('rejects more problems at once, each with its path', () => {
    const error = planError(() =>
      summarizeChangesDocument({
        changes: [{ address: '', action: 'create' }, { address: 'a.b', action: 7 }, 'a.c'],
      }),
    );
    expect(error.problems).toEqual([
      'plan file: changes[0].address: must not be empty',
      'plan file: changes[1].action: expected one of create, update, delete, replace, got 7',
      'plan file: changes[2]: expected an object, got a string',
    ]);
  });

  it('does not copy extra fields of a change', () => {
    const result = summarizeChangesDocument({
      changes: [{ address: 'a.b', action: 'update', after: { password: 'hunter2' } }],
    });
    expect(result.changes).toEqual([{ address: 'a.b', action: 'update' }]);
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });
});

describe('summarizePlanDocument', () => {
  it('detects the format from the document', () => {
    const changes = fixture('changes/valid.json');
    expect(summarizePlanDocument(changes)).toEqual(summarizeChangesDocument(JSON.parse(changes)));
    const plan = fixture('terraform/mixed.json');
    expect(summarizePlanDocument(plan)).toEqual(summarizeTerraformPlan(JSON.parse(plan)));
    // Compact, single-line output as terraform prints it, with a byte order mark.
    const compact = `\uFEFF${JSON.stringify(JSON.parse(plan))}`;
    expect(summarizePlanDocument(compact)).toEqual(summarizeTerraformPlan(JSON.parse(plan)));
  });

  it('rejects a document of neither format, listing what it has', () => {
    expect(planError(() => summarizePlanDocument('{"resources": [], "version": 4}')).message).toBe(
      'plan file: neither a changes document (no "changes" key) nor a Terraform JSON plan ' +
        '(no "format_version" key); top-level keys: "resources", "version"',
    );
    expect(planError(() => summarizePlanDocument('[{"address": "a.b"}]')).message).toBe(
      'plan file: expected a JSON object at the top level, got an array',
    );
    expect(planError(() => summarizePlanDocument('null')).message).toBe(
      'plan file: expected a JSON object at the top level, got null',
    );
  });

  it('names the problem in invalid JSON without echoing the text around it', () => {
    expect(planError(() => summarizePlanDocument('')).message).toBe('plan file: is empty');
    expect(planError(() => summarizePlanDocument(' \n')).message).toBe('plan file: is empty');
    expect(planError(() => summarizePlanDocument('{"changes": [}')).message).toBe(
      'plan file: not valid JSON: unexpected character "}" at line 1 column 14',
    );
    const leaky = '{\n  "variables": {"db_password": {"value": Tr0ub4dor&3}}\n}';
    const message = planError(() => summarizePlanDocument(leaky)).message;
    expect(message).toBe('plan file: not valid JSON: unexpected character "T" at line 2 column 42');
    expect(message).not.toContain('Tr0ub4dor');
    expect(planError(() => summarizePlanDocument('{"a": 1,}')).message).toBe(
      'plan file: not valid JSON: Expected double-quoted property name in JSON at position 8 (line 1 column 9)',
    );
    expect(planError(() => summarizePlanDocument('{"changes": [')).message).toBe(
      'plan file: not valid JSON: unexpected end of input at line 1 column 14',
    );
  });

  it('hints when the human-readable plan was saved instead of the JSON', () => {
    const text =
      'Terraform will perform the following actions:\n\n  # aws_instance.web will be created';
    expect(planError(() => summarizePlanDocument(text)).message).toBe(
      'plan file: not valid JSON: unexpected character "T" at line 1 column 1 ' +
        '(a JSON plan starts with "{"; was the human-readable plan saved instead of `terraform show -json`?)',
    );
  });
});

describe('UNKNOWN_PLAN', () => {
  it('is unknown, counts nothing and does not claim "no changes"', () => {
    expect(UNKNOWN_PLAN).toEqual({
      known: false,
      add: 0,
      change: 0,
      destroy: 0,
      changes: [],
      noChanges: false,
    });
    expect(Object.isFrozen(UNKNOWN_PLAN)).toBe(true);
    expect(Object.isFrozen(UNKNOWN_PLAN.changes)).toBe(true);
  });
});

describe('large plans', () => {
  const ACTIONS: string[][] = [['create'], ['update'], ['delete'], ['delete', 'create'], ['no-op']];

  it('summarizes a 5,000-change Terraform plan', () => {
    const entries: Entry[] = Array.from({ length: 5000 }, (_, i) => ({
      address: `module.fleet[${i % 10}].aws_instance.node[${i}]`,
      actions: ACTIONS[i % ACTIONS.length] ?? ['no-op'],
    }));
    const doc = tfPlan(entries);
    const text = JSON.stringify(doc);
    const result = summarizePlanDocument(text);

    // 1,000 of each of create, update, delete, replace and no-op.
    expect([result.add, result.change, result.destroy]).toEqual([2000, 1000, 2000]);
    expect(result.changes).toHaveLength(4000);
    expect(result.noChanges).toBe(false);
    expect(result.changes[0]).toEqual({
      address: 'module.fleet[0].aws_instance.node[0]',
      action: 'create',
    });
    expect(result.changes[999]).toEqual({
      address: 'module.fleet[5].aws_instance.node[4995]',
      action: 'create',
    });
    expect(result.changes[1000]?.action).toBe('update');
    expect(result.changes[3999]).toEqual({
      address: 'module.fleet[7].aws_instance.node[4997]',
      action: 'delete',
    });
  });

  it('summarizes a 5,000-change changes document', () => {
    const actions = ['create', 'update', 'delete', 'replace'] as const;
    const changes = Array.from({ length: 5000 }, (_, i) => ({
      address: `aws_sqs_queue.q${4999 - i}`,
      action: actions[i % 4],
    }));
    const result = summarizePlanDocument(JSON.stringify({ changes }));
    expect([result.add, result.change, result.destroy]).toEqual([2500, 1250, 2500]);
    expect(result.changes).toHaveLength(5000);
    expect(result.changes[0]).toEqual({ address: 'aws_sqs_queue.q3', action: 'create' });
    expect(result.changes[4999]).toEqual({ address: 'aws_sqs_queue.q4997', action: 'delete' });
  });
});
