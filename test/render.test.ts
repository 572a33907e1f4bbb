import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTION_IDS, parseButtonValue } from '../src/bot/render/actions.ts';
import type { ActionsBlock, Block, ButtonElement } from '../src/bot/render/blocks.ts';
import { helpText, renderDeploymentHelp, renderHelp } from '../src/bot/render/help.ts';
import {
  blocksTextLength,
  escapeMrkdwn,
  LIMITS,
  truncate,
  truncateMrkdwn,
  validateBlocks,
} from '../src/bot/render/limits.ts';
import {
  CHUNK_MAX,
  renderLogChunks,
  renderPlanChunks,
  splitText,
} from '../src/bot/render/plan-thread.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import type { RunView } from '../src/core/api/types.ts';
import {
  isTerminal,
  RUN_KINDS,
  RUN_STATUSES,
  type RunStatus,
  STATUS_TABLE,
} from '../src/core/lifecycle/statuses.ts';
import { MASK, makeBigPlan, makePlan, makeRun } from './support/run-fixtures.ts';

/** Every (kind, status) pair a run can be in. */
const PAIRS: { kind: RunView['kind']; status: RunStatus }[] = RUN_KINDS.flatMap((kind) =>
  RUN_STATUSES.filter((s) => {
    const only = STATUS_TABLE[s].kind;
    return only === undefined || only === kind;
  }).map((status) => ({ kind, status })),
);

const WITH_BUTTONS: readonly RunStatus[] = ['awaiting_plan_approval', 'awaiting_apply_approval'];

function buttons(blocks: readonly Block[]): ButtonElement[] {
  const out: ButtonElement[] = [];
  for (const b of blocks) {
    if (b.type === 'actions')
      out.push(...b.elements.filter((e): e is ButtonElement => e.type === 'button'));
    if (b.type === 'section' && b.accessory) out.push(b.accessory);
  }
  return out;
}

/** All the text of the message, blocks and fallback. */
function allText(message: { text: string; blocks: readonly Block[] }): string {
  return `${message.text}\n${JSON.stringify(message.blocks)}`;
}

function sectionText(blocks: readonly Block[], name: string): string {
  const block = blocks.find((b) => b.block_id?.startsWith(`${name}:`));
  if (block?.type !== 'section' || block.text === undefined) return '';
  return block.text.text;
}

function expectValid(message: { text: string; blocks: readonly Block[] }, what: string): void {
  expect(validateBlocks(message.blocks, message.text), what).toEqual([]);
  expect(blocksTextLength(message.blocks), what).toBeLessThanOrEqual(LIMITS.totalText);
  expect(JSON.stringify(message).isWellFormed(), `${what}: lone surrogate`).toBe(true);
}

const LOG = [
  'Initializing the backend...',
  'aws_instance.web[0]: Creating...',
  'aws_instance.web[0]: Still creating... [10s elapsed]',
];

describe('renderRunMessage: every status', () => {
  for (const { kind, status } of PAIRS) {
    it(`${kind} / ${status} renders within Slack's limits`, () => {
      const run = makeRun({ kind, status });
      const plain = renderRunMessage(run);
      const withLog = renderRunMessage(run, {
        logTail: LOG,
        now: new Date('2024-05-01T12:10:00Z'),
      });
      expectValid(plain, 'without log');
      expectValid(withLog, 'with log');
      const header = plain.blocks[0];
      expect(header?.type).toBe('header');
      if (header?.type === 'header') {
        expect(header.text.text).toBe(
          kind === 'destroy' ? 'DESTROY web-prod (production)' : 'Deploy web-prod → production',
        );
      }
      // Status field: symbol + label.
      expect(allText(plain)).toContain(
        `${STATUS_TABLE[status].symbol} ${STATUS_TABLE[status].label}`,
      );
      // Every block id names the run, and they are unique.
      const ids = plain.blocks.map((b) => b.block_id);
      for (const id of ids) expect(id).toContain(run.id);
      expect(new Set(ids).size).toBe(ids.length);
      // Buttons exactly where a person must act.
      const found = buttons(plain.blocks);
      if (WITH_BUTTONS.includes(status)) {
        expect(found.length).toBe(2);
      } else if (isTerminal(status) && run.kind === 'execute') {
        // A finished run can be run again (a new run with its variables).
        expect(found.map((b) => b.action_id)).toEqual(['run_again']);
      } else {
        expect(found).toEqual([]);
      }
      for (const button of found) {
        expect(parseButtonValue(button.value)).toEqual({
          runId: run.id,
          version: run.version,
          planId: 'plan-7f3a',
        });
      }
    });
  }

  it('shows the requester as a mention, the source and the duration', () => {
    const m = renderRunMessage(makeRun({ status: 'applying', durationSeconds: 125 }));
    const text = allText(m);
    expect(text).toContain('<@U012ABCDEF>');
    expect(text).toContain('`main`@`3f9c2ab`');
    expect(text).toContain('2m 05s');
    const dir = renderRunMessage(
      makeRun({
        sourceSummary: {
          kind: 'directory',
          gitRef: null,
          commit: null,
          baseDirectory: null,
          location: './infra/web',
        },
      }),
    );
    expect(allText(dir)).toContain('`./infra/web`');
  });

  it('uses now for the running duration of an unfinished run', () => {
    const run = makeRun({
      status: 'applying',
      durationSeconds: 10,
      createdAt: '2024-05-01T12:00:00Z',
    });
    expect(allText(renderRunMessage(run, { now: new Date('2024-05-01T13:01:00Z') }))).toContain(
      '1h 01m',
    );
  });
});

describe('renderRunMessage: per status', () => {
  it('awaiting_plan_approval: Approve plan (primary) and Cancel', () => {
    const m = renderRunMessage(makeRun({ status: 'awaiting_plan_approval' }));
    const [approve, cancel] = buttons(m.blocks);
    expect(approve?.action_id).toBe(ACTION_IDS.approvePlan);
    expect(approve?.text.text).toBe('Approve plan');
    expect(approve?.style).toBe('primary');
    expect(cancel?.action_id).toBe('cancel_run');
    expect(cancel?.text.text).toBe('Cancel');
    expect(cancel?.style).toBeUndefined();
    const actions = m.blocks.find((b): b is ActionsBlock => b.type === 'actions');
    expect(actions?.block_id).toBe('actions:run-01HX7Q');
    expect(sectionText(m.blocks, 'plan')).toContain('+2 to add, ~1 to change, -1 to destroy');
  });

  it('awaiting_apply_approval: who approved the plan and when, Apply with a confirm dialog', () => {
    const m = renderRunMessage(makeRun({ status: 'awaiting_apply_approval' }));
    expect(sectionText(m.blocks, 'status')).toContain('Plan approved by <@U0APPROVER> via slack');
    expect(sectionText(m.blocks, 'status')).toContain('<!date^1714564920^');
    const [apply, cancel] = buttons(m.blocks);
    expect(apply?.action_id).toBe('confirm_apply');
    expect(apply?.text.text).toBe('Apply');
    expect(apply?.style).toBe('primary');
    expect(apply?.confirm?.text.text).toContain('+2 to add, ~1 to change, -1 to destroy');
    expect(cancel?.action_id).toBe('cancel_run');
  });

  it('destroy: Destroy button is danger, the confirm names what is removed', () => {
    const plan = makePlan({
      add: 0,
      change: 0,
      destroy: 3,
      changes: [
        { address: 'aws_db_instance.main', action: 'delete' },
        { address: 'aws_s3_bucket.assets', action: 'delete' },
        { address: 'aws_instance.web', action: 'delete' },
      ],
    });
    const m = renderRunMessage(
      makeRun({ kind: 'destroy', status: 'awaiting_apply_approval', plan }),
    );
    const apply = buttons(m.blocks).find((b) => b.action_id === 'confirm_apply');
    expect(apply?.text.text).toBe('Destroy');
    expect(apply?.style).toBe('danger');
    expect(apply?.confirm?.style).toBe('danger');
    const confirmText = apply?.confirm?.text.text ?? '';
    expect(confirmText).toContain('aws_db_instance.main');
    expect(confirmText).toContain('aws_s3_bucket.assets');
    expect(confirmText).toContain('-3 to destroy');
    expect(confirmText).toContain('cannot be undone');
    expect(m.text).toContain('DESTROY web-prod');
  });

  it('destroy confirm with thousands of resources stays within 300 characters', () => {
    const changes = Array.from({ length: 3000 }, (_, i) => ({
      address: `module.very_long_module_name.aws_instance.node["${i}"]`,
      action: 'delete' as const,
    }));
    const plan = makePlan({ add: 0, change: 0, destroy: 3000, changes });
    const m = renderRunMessage(
      makeRun({ kind: 'destroy', status: 'awaiting_apply_approval', plan }),
    );
    expectValid(m, 'destroy 3000');
    const confirmText = buttons(m.blocks)[0]?.confirm?.text.text ?? '';
    expect(confirmText.length).toBeLessThanOrEqual(LIMITS.confirmText);
    expect(confirmText).toMatch(/…and \d+ more/);
    expect(confirmText).toContain('3000 resources');
  });

  it('plan counts unknown', () => {
    const m = renderRunMessage(
      makeRun({ status: 'awaiting_plan_approval', plan: makePlan({ known: false, changes: [] }) }),
    );
    expect(sectionText(m.blocks, 'plan')).toContain('counts unknown');
    const apply = renderRunMessage(
      makeRun({ status: 'awaiting_apply_approval', plan: makePlan({ known: false, changes: [] }) }),
    );
    expect(buttons(apply.blocks)[0]?.confirm?.text.text).toContain('counts unknown');
  });

  it('progress statuses show the latest log lines in a code block', () => {
    for (const status of ['applying', 'verifying', 'rolling_back'] as const) {
      const m = renderRunMessage(makeRun({ status }), { logTail: LOG });
      const log = sectionText(m.blocks, 'log');
      expect(log).toContain('```');
      expect(log).toContain('Still creating... [10s elapsed]');
    }
    const destroying = renderRunMessage(makeRun({ kind: 'destroy', status: 'destroying' }), {
      logTail: LOG,
    });
    expect(sectionText(destroying.blocks, 'log')).toContain('Creating...');
  });

  it('completed shows the duration and the outputs', () => {
    const m = renderRunMessage(makeRun({ status: 'completed', durationSeconds: 61 }));
    expect(sectionText(m.blocks, 'status')).toContain('Completed');
    expect(sectionText(m.blocks, 'status')).toContain('1m 01s');
    const outputs = sectionText(m.blocks, 'outputs');
    expect(outputs).toContain('`url` = https://web.example.com');
    expect(outputs).toContain('`instance_ids` = ["i-1","i-2"]');
  });

  it('destroyed says the resources were removed', () => {
    const m = renderRunMessage(makeRun({ kind: 'destroy', status: 'destroyed' }));
    expect(sectionText(m.blocks, 'status')).toContain('Destroyed');
    expect(sectionText(m.blocks, 'status')).toContain('removed');
  });

  it('failed shows the failed phase, the error, the hint and the log', () => {
    const m = renderRunMessage(makeRun({ status: 'failed', failedPhase: 'plan' }), {
      logTail: LOG,
    });
    expect(sectionText(m.blocks, 'status')).toContain('*Failed phase:* plan');
    expect(sectionText(m.blocks, 'error')).toContain('UnauthorizedOperation');
    expect(sectionText(m.blocks, 'hint')).toContain('Inspect the server');
    expect(sectionText(m.blocks, 'log')).toContain('Still creating');
  });

  it('failed without a recovery hint falls back to what the status asks', () => {
    const m = renderRunMessage(makeRun({ status: 'failed', recoveryHint: null }));
    expect(sectionText(m.blocks, 'hint')).toContain(STATUS_TABLE.failed.action);
  });

  it('rolled_back and rollback_failed never look like success', () => {
    for (const status of ['rolled_back', 'rollback_failed'] as const) {
      const m = renderRunMessage(makeRun({ status }), { logTail: LOG });
      const text = allText(m);
      expect(text).not.toContain('✓');
      expect(text).not.toMatch(/complete|succe/i);
      expect(sectionText(m.blocks, 'status')).toMatch(/fail/i);
      expect(m.text).toMatch(/fail/i);
      expect(sectionText(m.blocks, 'error')).toContain('UnauthorizedOperation');
      expect(sectionText(m.blocks, 'log')).toContain('Still creating');
    }
    expect(
      sectionText(renderRunMessage(makeRun({ status: 'rolled_back' })).blocks, 'status'),
    ).toContain('*not* deployed');
    expect(
      sectionText(renderRunMessage(makeRun({ status: 'rollback_failed' })).blocks, 'status'),
    ).toContain('manual intervention');
  });

  it('cancelled says by whom and why', () => {
    const m = renderRunMessage(
      makeRun({ status: 'cancelled', cancel: { by: 'U0CANCELER', reason: 'wrong <tag> & more' } }),
    );
    const status = sectionText(m.blocks, 'status');
    expect(status).toContain('Cancelled* by <@U0CANCELER>: wrong &lt;tag&gt; &amp; more');
    expect(status).toContain('Nothing in the cloud');
  });

  it('no_changes says so', () => {
    const m = renderRunMessage(
      makeRun({
        status: 'no_changes',
        plan: makePlan({ add: 0, change: 0, destroy: 0, changes: [] }),
      }),
    );
    expect(sectionText(m.blocks, 'status')).toContain('No changes');
    expect(sectionText(m.blocks, 'plan')).toContain('+0 to add, ~0 to change, -0 to destroy');
  });

  it('queued says behind which run and the position', () => {
    const m = renderRunMessage(
      makeRun({ status: 'queued', queue: { behind: 'run-ahead-1', position: 3 } }),
    );
    const status = sectionText(m.blocks, 'status');
    expect(status).toContain('behind run `run-ahead-1`');
    expect(status).toContain('position 3');
    expect(buttons(m.blocks)).toEqual([]);
  });

  it('button values carry the run version and plan, so stale clicks can be told apart', () => {
    const v7 = buttons(renderRunMessage(makeRun({ version: 7 })).blocks)[0];
    const v8 = buttons(
      renderRunMessage(makeRun({ version: 8, plan: makePlan({ id: 'plan-other' }) })).blocks,
    )[0];
    expect(parseButtonValue(v7?.value)).toEqual({
      runId: 'run-01HX7Q',
      version: 7,
      planId: 'plan-7f3a',
    });
    expect(parseButtonValue(v8?.value)).toEqual({
      runId: 'run-01HX7Q',
      version: 8,
      planId: 'plan-other',
    });
    expect(parseButtonValue('not json')).toBeNull();
    expect(parseButtonValue('{"runId":"x"}')).toBeNull();
  });

  it('mentions only real user ids; other names are escaped text', () => {
    const m = renderRunMessage(makeRun({ requestedBy: 'alice<script>', requestedVia: 'cli' }));
    expect(allText(m)).toContain('alice&lt;script&gt; via cli');
    expect(allText(m)).not.toContain('<@alice');
  });
});

describe('renderRunMessage: huge and hostile inputs', () => {
  const hugeVars: Record<string, string | number | boolean> = {};
  for (let i = 0; i < 200; i++)
    hugeVars[`var_${i}`] = i % 3 === 0 ? MASK : `v${i}-${'é🚀&<>'.repeat(400)}`;
  hugeVars.secret_token = MASK;
  const hugeError = `Error: first line of the error\n${'stack frame line with <tags> & 🚀 emoji\n'.repeat(2600)}LAST LINE OF THE ERROR`;
  const hugeLog = [
    ...Array.from({ length: 500 }, (_, i) => `\u001b[32mline ${i}\u001b[0m 👩‍👩‍👧‍👦 ok`),
    `${'x'.repeat(10_000)} tail-of-long-line`,
    'the very last line',
  ];
  const huge: Partial<RunView> = {
    deployment: `dep-${'d'.repeat(200)}`,
    environment: `env-${'🌍'.repeat(100)}`,
    id: `run-${'i'.repeat(300)}`,
    requestedBy: 'U012ABCDEF',
    variables: hugeVars,
    plan: makeBigPlan(5000, 120),
    error: hugeError,
    recoveryHint: { text: 'h'.repeat(5000), steps: [] },
    outputs: Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`out_${i}`, { nested: 'y'.repeat(1000) }]),
    ),
    cancel: { by: 'U0CANCELER', reason: 'r'.repeat(10_000) },
    queue: { behind: 'q'.repeat(5000), position: 99 },
    sourceSummary: {
      kind: 'git-repository',
      gitRef: 'g'.repeat(3000),
      commit: 'c'.repeat(40),
      baseDirectory: 'b'.repeat(3000),
      location: `https://example.com/${'l'.repeat(5000)}`,
    },
  };

  for (const { kind, status } of PAIRS) {
    it(`${kind} / ${status} with everything huge stays valid`, () => {
      const m = renderRunMessage(makeRun({ kind, status, ...huge }), { logTail: hugeLog });
      expectValid(m, `${kind}/${status}`);
    });
  }

  it('5,000 changed resources: grouped, cut with "…and N more" that adds up', () => {
    const plan = makeBigPlan(5000);
    const m = renderRunMessage(makeRun({ status: 'awaiting_plan_approval', plan }));
    expectValid(m, 'big plan');
    const text = sectionText(m.blocks, 'plan');
    expect(text).toContain('+2500 to add, ~1250 to change, -2500 to destroy');
    for (const heading of [
      'To destroy (1250)',
      'To replace (destroy, then create) (1250)',
      'To change (1250)',
      'To add (1250)',
    ]) {
      expect(text).toContain(heading);
    }
    // Shown + "more" = all, for every group.
    const groups = text.split(/\n(?=\*To )/).slice(1);
    expect(groups).toHaveLength(4);
    for (const group of groups) {
      const shown = group.split('\n').filter((l) => l.startsWith('• ')).length;
      const more = Number(/…and (\d+) more/.exec(group)?.[1] ?? '0');
      expect(shown).toBeGreaterThan(0);
      expect(shown + more).toBe(1250);
    }
  });

  it('a 100 kB error shows its start and its end', () => {
    const m = renderRunMessage(makeRun({ status: 'failed', error: hugeError }));
    expectValid(m, 'huge error');
    const error = sectionText(m.blocks, 'error');
    expect(error).toContain('Error: first line of the error');
    expect(error).toContain('LAST LINE OF THE ERROR');
    expect(error).toMatch(/… \d+ characters left out …/);
    expect(error).toContain('&lt;tags&gt; &amp;');
  });

  it('a 10 kB log line is cut, the last lines are kept, colour codes removed', () => {
    const m = renderRunMessage(makeRun({ status: 'applying' }), { logTail: hugeLog });
    expectValid(m, 'huge log');
    const log = sectionText(m.blocks, 'log');
    expect(log).toContain('the very last line');
    expect(log).toMatch(/… \d+ earlier lines/);
    expect(log).not.toContain('\u001b');
    expect(log).toContain('xxxx…');
  });

  it('200 variables with 2,000-character values: cut, masks intact', () => {
    const m = renderRunMessage(makeRun({ status: 'awaiting_plan_approval', variables: hugeVars }));
    expectValid(m, 'vars');
    const vars = sectionText(m.blocks, 'variables');
    expect(vars).toContain(`\`var_0\` = ${MASK}`);
    expect(vars).toMatch(/…and \d+ more/);
    expect(vars.length).toBeLessThanOrEqual(1200);
    // A value is cut, never the mask.
    expect(vars).toContain('`var_1` = v1-é🚀&amp;&lt;&gt;');
    expect(vars).not.toMatch(/•{1,5}…/);
  });

  it('sensitive values stay masked wherever they are shown', () => {
    const m = renderRunMessage(
      makeRun({ variables: { db_password: MASK, api_key: MASK, region: 'eu-west-1' } }),
    );
    const vars = sectionText(m.blocks, 'variables');
    expect(vars).toContain(`\`db_password\` = ${MASK}`);
    expect(vars).toContain(`\`api_key\` = ${MASK}`);
    expect(vars).toContain('`region` = eu-west-1');
  });

  it('mrkdwn control characters in names and values are escaped', () => {
    const m = renderRunMessage(
      makeRun({
        variables: { note: '<!channel> & <@U999|x>' },
        plan: makePlan({ changes: [{ address: 'aws_x.y["<a>&b"]', action: 'create' }] }),
      }),
    );
    const text = allText(m);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;@U999|x&gt;');
    expect(text).toContain('aws_x.y[\\"&lt;a&gt;&amp;b\\"]');
  });

  it('property: arbitrary unicode anywhere never breaks the limits', () => {
    const str = (max: number) => fc.string({ unit: 'binary', maxLength: max });
    fc.assert(
      fc.property(
        fc.constantFrom(...PAIRS),
        str(300),
        str(20_000),
        fc.array(str(3000), { maxLength: 30 }),
        fc.dictionary(fc.stringMatching(/^[a-z_]{1,20}$/), str(3000), { maxKeys: 50 }),
        fc.array(
          fc.record({
            address: str(500),
            action: fc.constantFrom('create', 'update', 'delete', 'replace' as const),
          }),
          {
            maxLength: 200,
          },
        ),
        ({ kind, status }, name, error, logTail, variables, changes) => {
          const run = makeRun({
            kind,
            status,
            environment: name || 'x',
            error,
            variables,
            plan: makePlan({ changes }),
            cancel: { by: name, reason: error },
          });
          const m = renderRunMessage(run, { logTail });
          expect(validateBlocks(m.blocks, m.text)).toEqual([]);
          expect(JSON.stringify(m).isWellFormed()).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('limits helpers', () => {
  it('truncate never splits a surrogate pair or an emoji sequence', () => {
    expect(truncate('hello', 10)).toBe('hello');
    expect(truncate('hello world', 6)).toBe('hello…');
    expect(truncate('abc', 0)).toBe('');
    expect(truncate('abcdef', 1)).toBe('…');
    const rockets = '🚀'.repeat(10);
    for (let max = 1; max < rockets.length; max++) {
      const cut = truncate(rockets, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut.isWellFormed()).toBe(true);
      expect(cut.endsWith('…')).toBe(true);
    }
    const family = '👩‍👩‍👧‍👦';
    const families = `ab${family.repeat(3)}`;
    for (let max = 2; max < families.length; max++) {
      const cut = truncate(families, max).slice(0, -1);
      expect(cut.isWellFormed()).toBe(true);
      expect(cut.slice(2).length % family.length === 0 || cut.length < 2).toBe(true);
    }
  });

  it('escapeMrkdwn and truncateMrkdwn never leave half an entity', () => {
    expect(escapeMrkdwn('a & b < c > d')).toBe('a &amp; b &lt; c &gt; d');
    for (let max = 1; max < 40; max++) {
      const cut = truncateMrkdwn('&&&&<<<<>>>>', max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
  });

  it('validateBlocks reports every kind of violation', () => {
    const button = (over: Record<string, unknown> = {}) => ({
      type: 'button',
      text: { type: 'plain_text', text: 'Go' },
      action_id: 'go',
      ...over,
    });
    const cases: [string, unknown][] = [
      ['51 blocks', Array.from({ length: 51 }, () => ({ type: 'divider' }))],
      ['empty section text', [{ type: 'section', text: { type: 'mrkdwn', text: '' } }]],
      [
        'long section text',
        [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }],
      ],
      ['section without text', [{ type: 'section' }]],
      [
        '11 fields',
        [
          {
            type: 'section',
            fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })),
          },
        ],
      ],
      ['long field', [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'x'.repeat(2001) }] }]],
      ['mrkdwn header', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }]],
      ['long header', [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }]],
      [
        '11 context elements',
        [
          {
            type: 'context',
            elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })),
          },
        ],
      ],
      [
        '26 action elements',
        [
          {
            type: 'actions',
            elements: Array.from({ length: 26 }, (_, i) => button({ action_id: `a${i}` })),
          },
        ],
      ],
      ['long block_id', [{ type: 'divider', block_id: 'x'.repeat(256) }]],
      [
        'duplicate block_id',
        [
          { type: 'divider', block_id: 'a' },
          { type: 'divider', block_id: 'a' },
        ],
      ],
      ['long action_id', [{ type: 'actions', elements: [button({ action_id: 'x'.repeat(256) })] }]],
      ['duplicate action_id', [{ type: 'actions', elements: [button(), button()] }]],
      [
        'long button text',
        [
          {
            type: 'actions',
            elements: [button({ text: { type: 'plain_text', text: 'x'.repeat(76) } })],
          },
        ],
      ],
      ['long button value', [{ type: 'actions', elements: [button({ value: 'x'.repeat(2001) })] }]],
      ['bad style', [{ type: 'actions', elements: [button({ style: 'secondary' })] }]],
      [
        'long confirm title',
        [
          {
            type: 'actions',
            elements: [
              button({
                confirm: {
                  title: { type: 'plain_text', text: 'x'.repeat(101) },
                  text: { type: 'plain_text', text: 't' },
                  confirm: { type: 'plain_text', text: 'y' },
                  deny: { type: 'plain_text', text: 'n' },
                },
              }),
            ],
          },
        ],
      ],
      [
        'long confirm text and buttons',
        [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: 's' },
            accessory: button({
              confirm: {
                title: { type: 'plain_text', text: 't' },
                text: { type: 'plain_text', text: 'x'.repeat(301) },
                confirm: { type: 'plain_text', text: 'x'.repeat(31) },
                deny: { type: 'plain_text', text: 'x'.repeat(31) },
              },
            }),
          },
        ],
      ],
      [
        'too much text',
        Array.from({ length: 5 }, () => ({
          type: 'section',
          text: { type: 'mrkdwn', text: 'x'.repeat(2500) },
        })),
      ],
      ['unknown block', [{ type: 'bogus' }]],
      ['not an array', { type: 'divider' }],
    ];
    for (const [what, blocks] of cases) {
      expect(validateBlocks(blocks), what).not.toEqual([]);
    }
    expect(
      validateBlocks([{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3000) } }]),
    ).toEqual([]);
    expect(validateBlocks(undefined, 'x'.repeat(40_001))).toHaveLength(1);
    expect(validateBlocks(undefined, 'hello')).toEqual([]);
  });
});

describe('plan and log chunks', () => {
  const run = makeRun({ status: 'awaiting_plan_approval' });

  function chunkBody(chunk: string): string {
    const start = chunk.indexOf('```\n');
    const end = chunk.lastIndexOf('\n```');
    return chunk.slice(start + 4, end);
  }

  it('a small plan is one chunk with the counts', () => {
    const chunks = renderPlanChunks(run, 'Plan: 2 to add, 1 to change, 1 to destroy.\n');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toContain('*Plan for Deploy web-prod → production* (+2 to add');
    expect(chunks[0]).toContain('Plan: 2 to add');
    expect(renderPlanChunks(run, '')[0]).toContain('empty');
  });

  it('a huge plan is split into chunks within limits, nothing hidden', () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      lines.push(
        `  # module.app.aws_instance.web["${i}"] will be created <&> 🚀 ${i % 97 === 0 ? 'y'.repeat(10_000) : ''}`,
      );
      if (i % 1000 === 0) lines.push('```not a fence```');
    }
    const plan = `\u001b[1mTerraform plan\u001b[0m\n${lines.join('\n')}\nPlan: 20000 to add.`;
    const chunks = renderPlanChunks(run, plan);
    expect(chunks.length).toBeGreaterThan(100);
    chunks.forEach((chunk, i) => {
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_MAX);
      expect(chunk.isWellFormed()).toBe(true);
      expect(chunk).toContain(`part ${i + 1}/${chunks.length}`);
      expect(validateBlocks([{ type: 'section', text: { type: 'mrkdwn', text: chunk } }])).toEqual(
        [],
      );
      // Exactly one code block per chunk: embedded fences are neutralized.
      expect(chunk.match(/```/g)).toHaveLength(2);
    });
    // Every character of the plan (colour codes aside) is in some chunk, in order.
    const decoded = chunks
      .map((c) =>
        chunkBody(c)
          .replace(/\u200b/g, '')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&'),
      )
      .join('');
    const cleaned = plan.replaceAll('\u001b[1m', '').replaceAll('\u001b[0m', '');
    expect(decoded.replace(/\n/g, '')).toBe(cleaned.replace(/\n/g, ''));
    expect(chunks.at(-1)).toContain('Plan: 20000 to add.');
  });

  it('splitText pieces concatenate to the input exactly', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 5000 }),
        fc.integer({ min: 20, max: 500 }),
        (text, room) => {
          const pieces = splitText(text, room);
          expect(pieces.join('')).toBe(text);
          for (const piece of pieces) {
            expect(piece.isWellFormed()).toBe(true);
            const shown = piece.endsWith('\n') ? piece.slice(0, -1) : piece;
            expect(
              escapeMrkdwn(shown).replace(/```/g, '`\u200b`\u200b`').length,
            ).toBeLessThanOrEqual(room);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('log chunks keep every line', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `log line ${i} ${'z'.repeat(i % 50)}`);
    lines.push('w'.repeat(10_000));
    const chunks = renderLogChunks(lines, { title: '*Log* of run `r-1`' });
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_MAX);
      expect(chunk.startsWith('*Log* of run `r-1` · part ')).toBe(true);
    }
    const all = chunks.map(chunkBody).join('\n');
    for (const i of [0, 1234, 2999]) expect(all).toContain(`log line ${i} `);
    expect(all.replace(/\n/g, '')).toContain('w'.repeat(2000));
    expect(renderLogChunks([])[0]).toContain('No log lines');
  });
});

describe('help', () => {
  it('lists the commands and the deployments within limits', () => {
    const deployments = Array.from({ length: 100 }, (_, i) => ({
      name: `app-${i}`,
      environment: 'production',
      description: `Deploys app ${i} <with> & ${'d'.repeat(300)}`,
      usage: `/deploy app-${i} image_tag=<tag>`,
      hasDestroy: i % 2 === 0,
    }));
    const m = renderHelp({ deployments });
    expectValid(m, 'help');
    const text = allText(m);
    expect(text).toContain('/deploy help');
    expect(text).toContain('/deploy destroy &lt;deployment&gt;');
    expect(text).toContain('app-0');
    expect(text).toMatch(/…and \d+ more/);
    expect(helpText('/ship')).toContain('/ship cancel <run-id>');
  });

  it('renders one deployment with its variables', () => {
    const m = renderDeploymentHelp({
      name: 'web-prod',
      environment: 'production',
      description: 'The web tier',
      usage: '/deploy web-prod image_tag=<tag>',
      hasDestroy: true,
      variables: {
        image_tag: { type: 'string', required: true, sensitive: false },
        size: {
          type: 'select',
          required: false,
          sensitive: false,
          options: ['small', 'large'],
          default: 'small',
        },
        db_password: { type: 'string', required: true, sensitive: true, default: 'hunter2' },
      },
    });
    expectValid(m, 'deployment help');
    const text = allText(m);
    expect(text).toContain('`image_tag` (string; required)');
    expect(text).toContain('small | large; optional, default small');
    expect(text).not.toContain('hunter2');
  });
});
