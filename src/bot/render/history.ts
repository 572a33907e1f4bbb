// `/deploy history NAME`: the recent completed runs of a deployment with their
// variables (sensitive ones masked: the core never hands their values out) and
// a "Deploy this version" button on each. Pure, within Block Kit's limits.

import type { RunView } from '../../core/api/types.ts';
import { AGAIN_ACTION_IDS, encodeButtonValue } from './actions.ts';
import { type Block, mrkdwn, plainText, type RenderedMessage } from './blocks.ts';
import { codeText, fitEncoded, inlineValue, mention, slackDate } from './format.ts';
import { escapeMrkdwn, LIMITS, truncate } from './limits.ts';

/** Runs shown (each takes a section and an actions block: 2 × 20 + heading < 50 blocks). */
export const HISTORY_RUNS = 20;

export function renderHistory(
  deployment: { name: string; environment: string },
  runs: readonly RunView[],
  command: string,
): RenderedMessage {
  const blocks: Block[] = [
    {
      type: 'section',
      text: mrkdwn(
        truncate(
          `*Completed runs of ${escapeMrkdwn(deployment.name)}* (${escapeMrkdwn(deployment.environment)}), newest first`,
          LIMITS.sectionText,
        ),
      ),
    },
  ];
  if (runs.length === 0) {
    blocks.push({
      type: 'section',
      text: mrkdwn(
        truncate(
          `${escapeMrkdwn(deployment.name)} has no completed runs yet. \`${command} ${escapeMrkdwn(deployment.name)}\` starts one.`,
          LIMITS.sectionText,
        ),
      ),
    });
  }
  for (const run of runs.slice(0, HISTORY_RUNS)) {
    const vars = Object.entries(run.variables)
      .map(([k, v]) => `${escapeMrkdwn(k)}=${inlineValue(v, 120)}`)
      .join(' ');
    blocks.push({
      type: 'section',
      block_id: `history:${run.id}`.slice(0, LIMITS.blockId),
      text: mrkdwn(
        truncate(
          `\`${fitEncoded(run.id, 60, codeText)}\` · ${slackDate(run.finishedAt ?? run.updatedAt)} · by ${mention(run.requestedBy)}\n${vars || '_no variables_'}`,
          LIMITS.sectionText,
        ),
      ),
    });
    blocks.push({
      type: 'actions',
      block_id: `version:${run.id}`.slice(0, LIMITS.blockId),
      elements: [
        {
          type: 'button',
          action_id: AGAIN_ACTION_IDS.deployVersion,
          text: plainText('Deploy this version'),
          value: encodeButtonValue({ runId: run.id, version: run.version, planId: null }),
        },
      ],
    });
  }
  return {
    text: truncate(`Completed runs of ${deployment.name}`, 3000),
    blocks: blocks.slice(0, LIMITS.blocks),
  };
}
