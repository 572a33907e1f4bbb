// Refusals and recovery hints are data: the core gives a neutral sentence and
// structured details; the CLI, Slack and deploy-tui each write their own words.
// No database: the views and refusals are built here.

import { describe, expect, it } from 'vitest';
import type { Block } from '../src/bot/render/blocks.ts';
import { refusalMrkdwn, refusalPlain } from '../src/bot/render/refusal.ts';
import { renderClickRefused, renderProblem } from '../src/bot/render/replies.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import { formatRun, nextSteps } from '../src/cli/format.ts';
import { Refusal } from '../src/core/errors.ts';
import { recoveryStepsOf } from '../src/core/lifecycle/recovery.ts';
import { parseRunChanged, runChangedPayload } from '../src/core/store/run-notifications.ts';
import { detailRows } from '../src/tui/components/run-detail.ts';
import { PLAIN_THEME } from '../src/tui/theme.ts';
import { makeRun } from './support/run-fixtures.ts';

const channelRefusal = new Refusal(
  'channel_not_allowed',
  'web <&> cannot be run from this channel',
  {
    channels: ['C0DEPLOYS', 'C0OPS'],
  },
);

function sectionText(blocks: readonly Block[], name: string): string {
  const block = blocks.find((b) => b.block_id?.startsWith(`${name}:`));
  return block?.type === 'section' && block.text !== undefined ? block.text.text : '';
}

describe('the channel refusal', () => {
  it('Slack shows the channels as real links and escapes the core’s words', () => {
    expect(refusalMrkdwn(channelRefusal, 1500)).toBe(
      'web &lt;&amp;&gt; cannot be run from this channel: use <#C0DEPLOYS> or <#C0OPS>',
    );
    const reply = renderProblem(channelRefusal);
    expect(JSON.stringify(reply.blocks)).toContain('use <#C0DEPLOYS> or <#C0OPS>');
    expect(reply.text).toContain('<#C0DEPLOYS>');
    expect(JSON.stringify(renderClickRefused(channelRefusal, null))).toContain('<#C0OPS>');
  });

  it('only channel ids become links: anything else in the details is left out', () => {
    const odd = new Refusal('channel_not_allowed', 'web cannot be run from this channel', {
      channels: ['<!channel>', 'C0DEPLOYS|x'],
    });
    expect(refusalMrkdwn(odd, 1500)).toBe('web cannot be run from this channel');
  });

  it('a form field (plain text) gets the same sentence', () => {
    expect(refusalPlain(channelRefusal)).toBe(
      'web <&> cannot be run from this channel: use <#C0DEPLOYS> or <#C0OPS>',
    );
  });
});

describe('recovery hints', () => {
  it('the steps follow the status: read the log and run again; save the log after a failed rollback', () => {
    const run = { id: 'run-1', deployment: 'web', kind: 'execute' as const };
    expect(recoveryStepsOf({ ...run, status: 'failed' })).toEqual([
      { kind: 'see_logs', runId: 'run-1' },
      { kind: 'run_again', deployment: 'web', runKind: 'execute' },
    ]);
    expect(recoveryStepsOf({ ...run, status: 'rollback_failed' })).toEqual([
      { kind: 'save_logs', runId: 'run-1' },
    ]);
    expect(recoveryStepsOf({ ...run, status: 'completed' })).toEqual([]);
  });

  const failed = makeRun({
    status: 'rollback_failed',
    recoveryHint: {
      text: 'manual intervention is required: restore the previous version by hand',
      steps: [{ kind: 'save_logs', runId: 'run-01HX7Z' }],
    },
  });

  it('the CLI writes them as commands', () => {
    expect(formatRun(failed)).toContain(
      'hint:      manual intervention is required: restore the previous version by hand',
    );
    expect(nextSteps(failed)).toContain('deploy-bot logs run-01HX7Z > run-01HX7Z.log');
    const again = makeRun({ status: 'failed' });
    expect(nextSteps(again)).toEqual([
      `deploy-bot logs ${again.id}`,
      `deploy-bot execute ${again.deployment}`,
    ]);
  });

  it('Slack writes them as where things are in Slack', () => {
    const hint = sectionText(renderRunMessage(failed).blocks, 'hint');
    expect(hint).toContain('restore the previous version by hand');
    expect(hint).toContain('Save the whole log (in this message’s thread)');
    expect(hint).not.toContain('deploy-bot');
    expect(sectionText(renderRunMessage(makeRun({ status: 'failed' })).blocks, 'hint')).toContain(
      '*Run again* starts a new run',
    );
  });

  it('deploy-tui writes them under the hint', () => {
    const rows = detailRows(failed, [], 100, Date.parse('2024-05-01T12:10:00Z'), PLAIN_THEME);
    const text = rows.map((r) => r.map((s) => s.text).join('')).join('\n');
    expect(text).toContain('Hint: manual intervention is required');
    expect(text).toContain('→ Save the whole log before anything else');
  });
});

describe('run-change notifications', () => {
  it('decode what they encode, a deployment name with colons included', () => {
    const payload = runChangedPayload({
      id: 'run-1',
      version: 7,
      status: 'applying',
      deployment: 'team:web',
    });
    expect(parseRunChanged(payload)).toEqual({
      runId: 'run-1',
      version: 7,
      status: 'applying',
      deployment: 'team:web',
    });
  });

  it('a payload this version cannot read is ignored, not guessed', () => {
    expect(parseRunChanged('run-1:7:exploded:web')).toBeNull();
    expect(parseRunChanged('garbage')).toBeNull();
  });
});
