// The bot's own replies and parsing, without Slack: every reply stays within
// Block Kit's limits whatever it is given, and `/deploy` text parses as typed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDeployText } from '../src/bot/listeners/commands/parse.ts';
import type { RenderedMessage } from '../src/bot/render/blocks.ts';
import { renderHelp, usageLine } from '../src/bot/render/help.ts';
import { blocksTextLength, LIMITS, validateBlocks } from '../src/bot/render/limits.ts';
import {
  renderCancelled,
  renderClickRefused,
  renderDeploymentList,
  renderErrorReply,
  renderFallbackMessage,
  renderLogsReply,
  renderProblem,
  renderRunAccepted,
  renderRunList,
  renderRunStatus,
} from '../src/bot/render/replies.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import type { DeploymentView } from '../src/core/api/types.ts';
import { RUN_STATUSES } from '../src/core/lifecycle/statuses.ts';
import { makeBigPlan, makeRun } from './support/run-fixtures.ts';

function expectValid(message: RenderedMessage, what: string) {
  expect(validateBlocks(message.blocks, message.text), what).toEqual([]);
  expect(blocksTextLength(message.blocks), what).toBeLessThanOrEqual(LIMITS.totalText);
  expect(message.text.length, what).toBeLessThanOrEqual(3000);
  expect(JSON.stringify(message).isWellFormed(), what).toBe(true);
}

const HOSTILE = `<!channel> *bold* _it_ \`code\` \`\`\` & <@U123|x> ${'😀'.repeat(50)} ${'x'.repeat(20_000)}`;

function deployment(i: number, name = `app-${i}`): DeploymentView {
  const active = i % 3 === 0 ? makeRun({ status: 'applying', deployment: name }) : null;
  return {
    name,
    environment: i % 2 ? 'production' : HOSTILE.slice(0, 300),
    description: HOSTILE,
    approvers: ['U0APPROVER'],
    channels: null,
    variables: {},
    usage: name,
    hasDestroy: true,
    state: {
      active,
      queued: i % 4,
      awaiting: i % 5,
      freeze: i % 2 ? { reason: HOSTILE, endsAt: '2026-12-07T06:00:00.000Z' } : null,
      locks: [],
    },
  };
}

describe('replies stay within Slack limits', () => {
  it('problems, errors and refusals of any length', () => {
    expectValid(renderProblem(HOSTILE), 'problem');
    expectValid(
      renderProblem('3 problems', {
        details: Array.from({ length: 2000 }, (_, i) => `problem ${i}: ${HOSTILE.slice(0, 500)}`),
        usage: Array.from({ length: 100 }, () => HOSTILE.slice(0, 1000)),
        hint: HOSTILE.slice(0, 5000),
      }),
      'problem with details',
    );
    expectValid(renderErrorReply(HOSTILE, HOSTILE), 'error');
    expectValid(renderClickRefused(HOSTILE, makeRun({ id: HOSTILE.slice(0, 200) })), 'refused');
  });

  it('runs: accepted, lists, statuses, cancelled, in every status', () => {
    for (const status of RUN_STATUSES) {
      const run = makeRun({
        status,
        kind: status === 'destroyed' || status === 'destroying' ? 'destroy' : 'execute',
        deployment: HOSTILE.slice(0, 400),
        plan: status === 'queued' ? null : makeBigPlan(3000),
        error: HOSTILE,
        variables: { msg: HOSTILE, [HOSTILE.slice(0, 100)]: 'x' },
      });
      expectValid(renderRunAccepted(run, '/deploy'), `accepted ${status}`);
      expectValid(
        renderRunStatus(run, {
          command: '/deploy',
          logTail: Array.from({ length: 50 }, () => HOSTILE.slice(0, 3000)),
        }),
        `status ${status}`,
      );
      expectValid(renderCancelled(run), `cancelled ${status}`);
      const full = renderRunMessage(run);
      expectValid(renderFallbackMessage(run, full, HOSTILE), `fallback ${status}`);
    }
    const runs = Array.from({ length: 1000 }, (_, i) =>
      makeRun({
        id: `run-${String(i).padStart(10, '0')}`,
        status: RUN_STATUSES[i % RUN_STATUSES.length]!,
      }),
    );
    const list = renderRunList(HOSTILE, runs, { command: '/deploy', empty: HOSTILE });
    expectValid(list, 'run list');
    expect(JSON.stringify(list.blocks)).toMatch(/…and \d+ more/);
    expectValid(renderRunList('none', [], { command: '/deploy', empty: HOSTILE }), 'empty list');
  });

  it('deployments and help with many, long names', () => {
    const many = Array.from({ length: 500 }, (_, i) => deployment(i));
    const list = renderDeploymentList(many, { command: '/deploy' });
    expectValid(list, 'deployment list');
    expect(JSON.stringify(list.blocks)).toMatch(/…and \d+ more/);
    expectValid(renderDeploymentList([], { command: '/deploy' }), 'no deployments');
    expectValid(
      renderHelp({
        deployments: many.map((d) => ({ ...d, usage: usageLine('/deploy', d.name, {}) })),
      }),
      'help',
    );
  });

  it('logs: the newest lines that fit one message', () => {
    const run = makeRun({ status: 'failed' });
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${HOSTILE.slice(0, 400)}`);
    const reply = renderLogsReply(run, lines, { requested: 500, command: '/deploy' });
    expectValid(reply, 'logs');
    const text = JSON.stringify(reply.blocks);
    expect(text).toContain('line 499');
    expect(text).toContain('Earlier lines left out');
    expectValid(renderLogsReply(run, [], { requested: 20, command: '/deploy' }), 'no logs');
    const few = renderLogsReply(run, ['a', 'b'], { requested: 20, command: '/deploy' });
    expect(JSON.stringify(few.blocks)).toContain('all 2 lines');
  });

  it('property: any text anywhere keeps every reply valid', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 6000, unit: 'grapheme' }),
        fc.string({ maxLength: 300 }),
        (text, name) => {
          const run = makeRun({ deployment: name || 'x', error: text, status: 'failed' });
          expectValid(renderProblem(text, { details: [text, name], usage: [text] }), 'problem');
          expectValid(renderClickRefused(text, run), 'refused');
          expectValid(renderRunAccepted(run, '/deploy'), 'accepted');
          expectValid(
            renderLogsReply(run, text.split('\n'), { requested: 20, command: '/deploy' }),
            'logs',
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('usage lines', () => {
  it('never show a sensitive default', () => {
    const line = usageLine('/deploy', 'web', {
      image_tag: { type: 'string', required: true, sensitive: false },
      api_key: { type: 'string', required: false, sensitive: true, default: 'hunter2' },
      token: { type: 'string', required: false, sensitive: true },
      size: {
        type: 'select',
        required: false,
        sensitive: false,
        options: ['s', 'l'],
        default: 's',
      },
    });
    expect(line).toBe(
      '/deploy web image_tag=<string> [api_key=<string, default (hidden)>] [token=<string, optional>] [size=<s|l, default s>]',
    );
  });
});

describe('parsing /deploy text', () => {
  const cases: [string, unknown][] = [
    ['', { kind: 'help', deployment: null }],
    ['help web', { kind: 'help', deployment: 'web' }],
    ['list', { kind: 'list' }],
    ['web', { kind: 'run', runKind: 'execute', deployment: 'web', variables: {}, bare: true }],
    [
      'web a=1 msg="hello world" q=\'single quoted\'',
      {
        kind: 'run',
        runKind: 'execute',
        deployment: 'web',
        variables: { a: '1', msg: 'hello world', q: 'single quoted' },
        bare: true,
      },
    ],
    [
      'execute web msg=“smart quotes”',
      {
        kind: 'run',
        runKind: 'execute',
        deployment: 'web',
        variables: { msg: 'smart quotes' },
        bare: false,
      },
    ],
    [
      'destroy web',
      { kind: 'run', runKind: 'destroy', deployment: 'web', variables: {}, bare: false },
    ],
    ['status', { kind: 'status', target: null }],
    ['status run-abc', { kind: 'status', target: 'run-abc' }],
    ['logs run-abc', { kind: 'logs', runId: 'run-abc', lines: 20 }],
    ['logs run-abc 9999', { kind: 'logs', runId: 'run-abc', lines: 500 }],
    ['cancel run-abc wrong tag', { kind: 'cancel', runId: 'run-abc', reason: 'wrong tag' }],
    ['cancel run-abc', { kind: 'cancel', runId: 'run-abc', reason: null }],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      expect(parseDeployText(text)).toEqual(expected);
    });
  }

  it('wrong usage says what was wrong and gives the usage', () => {
    const wrong: [string, string][] = [
      ['web msg="open', 'unclosed quote'],
      ['web extra', '"extra" is not a variable'],
      ['web 1x=2', '"1x" is not a variable name'],
      ['destroy', 'which deployment?'],
      ['execute a=1', 'which deployment?'],
      ['logs', 'which run?'],
      ['logs run-a 0', 'is not a number of lines'],
      ['logs run-a 5 6', 'logs takes a run id and a number of lines'],
      ['status a b', 'status takes one run id or deployment'],
      ['help a b', 'help takes at most one deployment name'],
    ];
    for (const [text, problem] of wrong) {
      const parsed = parseDeployText(text);
      expect(parsed.kind, text).toBe('usage');
      if (parsed.kind === 'usage') {
        expect(parsed.problem, text).toContain(problem);
        expect(parsed.usage.length, text).toBeGreaterThan(0);
      }
    }
  });
});

describe('the fallback text of a reply', () => {
  it('keeps identifiers as typed: underscores, asterisks and backticks stay', () => {
    const problem = renderProblem('missing required variable image_tag');
    expect(problem.text).toBe('✗ missing required variable image_tag');
    expect(renderErrorReply('could not start *web_prod*', 'db `down`').text).toBe(
      '✗ could not start *web_prod*: db `down`',
    );
    expect(renderClickRefused('not an approver of web_prod', null).text).toContain('web_prod');
    expect(renderProblem('a <b> & c').text).toBe('✗ a &lt;b&gt; &amp; c');
  });
});
