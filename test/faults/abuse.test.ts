// Abuse of the real bot over HTTP and of the CLI: forged and replayed requests,
// oversized and malformed bodies, unknown and tampered buttons (each refused,
// no crash, nothing changed), shell metacharacters in variable values (plain
// data in the step, nothing executed), and sensitive values (never in Slack,
// the database, the CLI, the dashboard, error messages or process arguments).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createElement } from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS, encodeButtonValue, parseButtonValue } from '../../src/bot/render/actions.ts';
import { main as cli } from '../../src/cli/main.ts';
import type { Actor } from '../../src/core/api/types.ts';
import { MASK } from '../../src/core/logs/redact.ts';
import { LogPane } from '../../src/tui/components/log-pane.ts';
import { DetailPane, detailRows } from '../../src/tui/components/run-detail.ts';
import { LogWindow } from '../../src/tui/data/log-window.ts';
import { stripAnsi } from '../../src/tui/text/width.ts';
import { PLAIN_THEME } from '../../src/tui/theme.ts';
import {
  type BotHarness,
  buttonOf,
  CHANNEL,
  shownStatus,
  startBotHarness,
} from '../support/bot-harness.ts';
import type { FakeMessage } from '../support/fake-slack.ts';
import { listProcesses, processesWithEnv } from '../support/faults-proc.ts';
import { reportFigures, TRIALS, uniqueToken, waitUntil } from '../support/faults-support.ts';
import {
  findButtons,
  signedFormHeaders,
  slashCommandBody,
  TEST_SIGNING_SECRET,
} from '../support/slack-signing.ts';
import { KEYS, press, renderApp, renderSized, waitForText } from '../support/tui-ink.ts';

/** Shell metacharacters, quotes and newlines a person might (mis)type. */
const MARK = path.join(os.tmpdir(), uniqueToken('deploy-bot-abuse-mark-'));
const SENTINEL = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-abuse-sentinel-'));
writeFileSync(path.join(SENTINEL, 'keep-me'), 'still here');
const HOSTILE: readonly string[] = [
  `$(touch ${MARK}-1)`,
  `\`touch ${MARK}-2\``,
  `; touch ${MARK}-3`,
  `| touch ${MARK}-4 &`,
  `&& touch ${MARK}-5 || touch ${MARK}-5b`,
  `"; touch ${MARK}-6; echo "`,
  `'; touch ${MARK}-7; echo '`,
  `first line\ntouch ${MARK}-8\n$(touch ${MARK}-8b)\nlast line`,
  `; rm -rf ${SENTINEL} ; rm -rf ${SENTINEL}/*`,
  `> ${MARK}-9 < /etc/passwd 2>&1`,
  `$HOME \${IFS} $$ !! * ~ %s %n \\ \\n \\\\ \t tab`,
  `“smart” ‘quotes’ and "double" and 'single' and \`back\` and $(( 6 * 7 ))`,
];
const NAMES = HOSTILE.map((_, i) => `v${i}`);

const SECRET = uniqueToken('sk');

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
  - name: echo
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
${NAMES.map((n) => `      ${n}: { type: string, required: true }`).join('\n')}
    executor: { kind: script, plan: ./echo.sh, apply: ./echo.sh, timeout: 30s }
  - name: secretive
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      api_key: { type: string, sensitive: true, required: true, pattern: "^[A-Za-z0-9_-]+$" }
      mode: { type: select, options: [ok, badplan, failapply, outputs], default: ok }
      note: { type: string, default: "" }
    executor: { kind: script, plan: ./secret-plan.sh, apply: ./secret-apply.sh, timeout: 60s }
`;

const FILES = {
  'src/plan.sh': `echo "planning"
echo '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
  // Writes what it got for every variable to a file of its own, as it got it.
  'src/echo.sh': `for name in ${NAMES.join(' ')}; do
  eval "value=\\"\\$DEPLOY_VAR_$name\\""
  printf '%s' "$value" > "$DEPLOY_STATE_DIR/$DEPLOY_PHASE-$DEPLOY_RUN_ID-$name"
  printf 'got %s: %s\\n' "$name" "$value"
done
echo '{"changes":[{"address":"echo.values","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  // Prints the sensitive value on stdout and stderr, into the plan's text and
  // addresses, and (by mode) into an invalid plan, a failing apply's error, or
  // the outputs. The apply waits for a go file, so its processes can be inspected.
  'src/secret-plan.sh': `echo "plan sees key $DEPLOY_VAR_api_key"
echo "plan stderr key=$DEPLOY_VAR_api_key" >&2
if [ "$DEPLOY_VAR_mode" = badplan ]; then
  printf '{"changes":[{"address":"svc.%s","action":"%s"}]}' "$DEPLOY_VAR_api_key" "$DEPLOY_VAR_api_key" > "$DEPLOY_PLAN_FILE"
else
  printf '{"changes":[{"address":"svc.%s","action":"update"}]}' "$DEPLOY_VAR_api_key" > "$DEPLOY_PLAN_FILE"
fi`,
  'src/secret-apply.sh': `echo "apply sees key $DEPLOY_VAR_api_key"
echo "apply stderr key=$DEPLOY_VAR_api_key" >&2
touch "$DEPLOY_STATE_DIR/running-$DEPLOY_RUN_ID"
i=0
while [ ! -f "$DEPLOY_STATE_DIR/go-$DEPLOY_RUN_ID" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
if [ "$DEPLOY_VAR_mode" = failapply ]; then
  echo "Error: the API refused the key $DEPLOY_VAR_api_key" >&2
  exit 4
fi
if [ "$DEPLOY_VAR_mode" = outputs ]; then
  printf '{"token":"%s","url":"https://api.example.com/?key=%s"}' "$DEPLOY_VAR_api_key" "$DEPLOY_VAR_api_key" > "$DEPLOY_OUTPUTS_FILE"
else
  printf '{"url":"https://api.example.com/"}' > "$DEPLOY_OUTPUTS_FILE"
fi`,
};

const APPROVER: Actor = { id: 'U0APPROVER', via: 'cli' };
const figures: Record<string, number> = {};
const count = (key: string, n = 1) => {
  figures[key] = (figures[key] ?? 0) + n;
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({ config: CONFIG, files: FILES, workers: 2 });
  process.env.DATABASE_URL = b.h.db.url;
  process.env.DEPLOY_CONFIG = path.join(b.h.dir, 'deploy.config.yaml');
  process.env.DEPLOY_BOT_DATA_DIR = b.h.dataDir;
  delete process.env.DEPLOY_USER;
});
afterAll(async () => {
  await b?.close();
  rmSync(SENTINEL, { recursive: true, force: true });
  for (let i = 0; i < 12; i++)
    for (const s of ['', 'b']) rmSync(`${MARK}-${i}${s}`, { force: true });
  reportFigures('abuse', figures);
});

const now = () => Math.floor(Date.now() / 1000);

async function post(body: string, headers: Record<string, string>) {
  try {
    const res = await fetch(b.eventsUrl, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  } catch {
    // The server may cut an oversized upload short: no answer at all.
    return { status: 0, text: '' };
  }
}

/** Everything a refused request must leave as it was. */
async function state() {
  const [row] = await b.h.core.connection.sql<
    {
      runs: number;
      statuses: string;
      approvals: number;
      transitions: number;
      messages: number;
      requests: number;
    }[]
  >`select
      (select count(*) from runs)::int as runs,
      (select coalesce(string_agg(id || ':' || status || ':' || version, ',' order by id), '') from runs) as statuses,
      (select count(*) from approvals)::int as approvals,
      (select count(*) from run_transitions)::int as transitions,
      (select count(*) from slack_messages)::int as messages,
      (select count(*) from slack_requests)::int as requests`;
  const posted = b.slack.channelMessages(CHANNEL).filter((m) => m.threadTs === null).length;
  return { ...row!, posted };
}

/** Waits until no run moves by itself (each waits for a person, is queued or ended). */
async function settled() {
  await waitUntil(
    async () => {
      const [row] = await b.h.core.connection.sql<{ n: number }[]>`
        select count(*)::int as n from runs
        where status not in ('queued', 'awaiting_plan_approval', 'awaiting_apply_approval',
          'completed', 'destroyed', 'no_changes', 'failed', 'cancelled', 'rolled_back', 'rollback_failed')`;
      return row!.n === 0;
    },
    'every run to wait or end',
    30_000,
  );
  // …and every run message shows its run's latest version.
  await waitUntil(
    async () => {
      const [row] = await b.h.core.connection.sql<{ n: number }[]>`
        select count(*)::int as n from slack_messages m join runs r on r.id = m.run_id
        where m.delivered_version < r.version`;
      return row!.n === 0;
    },
    'every run message to catch up',
    30_000,
  );
}

/** The server still answers: health, and a command end to end. */
async function stillServing() {
  const health = await fetch(`${b.bot.url}/healthz`);
  expect(health.status).toBe(200);
  const help = await b.command('help');
  expect(help.status).toBe(200);
  await b.replies(help.responseUrl);
}

/** A copy of `message` whose first `actionId` button is changed. */
function tamper(
  message: FakeMessage,
  actionId: string,
  change: { actionId?: string; value?: string; blockId?: string },
): FakeMessage {
  const blocks = JSON.parse(JSON.stringify(message.blocks ?? [])) as Record<string, unknown>[];
  for (const block of blocks) {
    const elements = Array.isArray(block.elements)
      ? (block.elements as Record<string, unknown>[])
      : [];
    const button = elements.find((e) => e.type === 'button' && e.action_id === actionId);
    if (!button) continue;
    if (change.actionId !== undefined) button.action_id = change.actionId;
    if (change.value !== undefined) button.value = change.value;
    if (change.blockId !== undefined) block.block_id = change.blockId;
    return { ...message, blocks, versions: message.versions };
  }
  throw new Error(`no ${actionId} button in the message`);
}

async function clickReply(message: FakeMessage, actionId: string) {
  const res = await b.click(message, actionId, { user: 'U0APPROVER' });
  expect(res.status).toBe(200);
  const [reply] = await b.replies(res.responseUrl, 1, 15_000);
  return reply ?? '';
}

describe('requests that must be refused: the right answer, no crash, nothing changed', () => {
  let runA: string;
  let runB: string;
  let messageA: FakeMessage;
  let planB: string;

  beforeAll(async () => {
    runA = await b.runIdOf(await b.command('web'));
    runB = await b.runIdOf(await b.command('web'));
    messageA = await b.messageWhere(runA, (m) => shownStatus(m).startsWith('Awaiting plan'));
    // Both wait for their plan approval (a run waiting for a person holds no slot).
    planB = (await b.h.waitFor(runB, 'awaiting_plan_approval')).plan!.id;
  });

  it(`forged signatures (${TRIALS} × 4 kinds): 401, nothing changed`, async () => {
    await settled();
    const before = await state();
    for (let i = 0; i < TRIALS; i++) {
      const body = slashCommandBody({
        text: 'web',
        userId: 'U0REQUESTER',
        channelId: CHANNEL,
        responseUrl: b.slack.responseUrl(),
      });
      const good = signedFormHeaders(TEST_SIGNING_SECRET, body);
      const forged: Record<string, string>[] = [
        signedFormHeaders(`not-the-secret-${i}`, body),
        { ...good, 'x-slack-signature': `v0=${'0'.repeat(64)}` },
        { ...good, 'x-slack-signature': good['x-slack-signature']!.replace('v0=', 'v1=') },
        // Signed for another body.
        signedFormHeaders(TEST_SIGNING_SECRET, body.replace('text=web', 'text=list')),
      ];
      for (const headers of forged) {
        const res = await post(body, headers);
        expect(res.status).toBe(401);
        expect(res.text).toBe('');
        count('forgedRefused');
      }
    }
    expect(await state()).toEqual(before);
    await stillServing();
  });

  it(`replayed requests: older than five minutes 401 (${TRIALS} × 3 ages); within the window the same command acts once`, async () => {
    // A command Slack really sent (accepted), then the same bytes again.
    const responseUrl = b.slack.responseUrl();
    const body = slashCommandBody({
      text: 'web',
      userId: 'U0REQUESTER',
      channelId: CHANNEL,
      responseUrl,
    });
    const headers = signedFormHeaders(TEST_SIGNING_SECRET, body);
    const first = await post(body, headers);
    expect(first.status).toBe(200);
    const [reply] = await b.replies(responseUrl);
    const created = /run-[0-9a-z]{10}/.exec(reply ?? '')?.[0];
    expect(created).toBeDefined();
    await settled();
    const before = await state();
    for (let i = 0; i < TRIALS; i++) {
      // Captured and sent again later: its signature carries its old timestamp.
      for (const age of [301, 3600, 86_400 * 30]) {
        const res = await post(body, signedFormHeaders(TEST_SIGNING_SECRET, body, now() - age - i));
        expect(res.status).toBe(401);
        count('replayRefused');
      }
      // Sent again at once (as a retry or a replay inside the window): acked, not acted on.
      const again = await post(body, headers);
      expect(again.status).toBe(200);
      count('replayWithinWindowIgnored');
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await state()).toEqual(before);
    expect(b.slack.responsesFor(responseUrl)).toHaveLength(1);
    await b.h.core.cancelRun(created!, APPROVER);
    await stillServing();
  });

  it(`bodies over the size limit (${TRIALS}): 413 or cut off, nothing changed`, async () => {
    await settled();
    const before = await state();
    for (let i = 0; i < TRIALS; i++) {
      const body = slashCommandBody({
        text: `web ${'x'.repeat(1024 * 1024 + i)}`,
        userId: 'U0REQUESTER',
        channelId: CHANNEL,
        responseUrl: b.slack.responseUrl(),
      });
      const res = await post(body, signedFormHeaders(TEST_SIGNING_SECRET, body));
      expect([0, 413]).toContain(res.status);
      count('oversizedRefused');
    }
    expect(await state()).toEqual(before);
    await stillServing();
  });

  it(`malformed JSON payloads (${TRIALS} × 7): 400, nothing changed`, async () => {
    await settled();
    const before = await state();
    const payloads = [
      '{not json',
      '{"type":"block_actions",',
      'null',
      '[]',
      '"block_actions"',
      JSON.stringify({
        type: 'block_actions',
        user: { id: 'U0APPROVER' },
        trigger_id: 't',
        actions: [{ action_id: ACTION_IDS.approvePlan }],
      }),
      JSON.stringify({
        type: 'block_actions',
        user: 'U0APPROVER',
        trigger_id: 't',
        actions: 'approve',
      }),
    ];
    for (let i = 0; i < TRIALS; i++) {
      for (const payload of payloads) {
        const body = new URLSearchParams({ payload }).toString();
        const res = await post(body, signedFormHeaders(TEST_SIGNING_SECRET, body));
        expect(res.status, payload).toBe(400);
        count('malformedRefused');
      }
      const json = '{"type":"block_actions","actions":[';
      const res = await post(json, {
        ...signedFormHeaders(TEST_SIGNING_SECRET, json),
        'content-type': 'application/json',
      });
      expect(res.status).toBe(400);
      count('malformedRefused');
    }
    expect(await state()).toEqual(before);
    await stillServing();
  });

  it(`unknown action ids (${TRIALS}): answered, never acted on`, async () => {
    await settled();
    const before = await state();
    for (let i = 0; i < TRIALS; i++) {
      const actionId = `launch_missiles_${i}`;
      const reply = await clickReply(
        tamper(messageA, ACTION_IDS.approvePlan, { actionId }),
        actionId,
      );
      expect(reply).toContain('deploy-bot does not know this button');
      count('unknownActionRefused');
    }
    expect(await state()).toEqual(before);
    await stillServing();
  });

  it(`buttons pointing at another run or another run's plan (${TRIALS} × 3): refused, nothing changed`, async () => {
    const value = parseButtonValue(buttonOf(messageA, ACTION_IDS.approvePlan)?.value)!;
    await settled();
    const before = await state();
    for (let i = 0; i < TRIALS; i++) {
      // The value names run B (the click is on A's message, in A's block).
      let reply = await clickReply(
        tamper(messageA, ACTION_IDS.approvePlan, {
          value: encodeButtonValue({ ...value, runId: runB }),
        }),
        ACTION_IDS.approvePlan,
      );
      expect(reply).toContain(`this button does not belong to run ${runB}`);
      // Value and block both name run B: still A's message.
      reply = await clickReply(
        tamper(messageA, ACTION_IDS.approvePlan, {
          value: encodeButtonValue({ ...value, runId: runB }),
          blockId: `actions:${runB}`,
        }),
        ACTION_IDS.approvePlan,
      );
      expect(reply).toContain(`this is not the message of run ${runB}`);
      // A's run, but another run's plan.
      reply = await clickReply(
        tamper(messageA, ACTION_IDS.approvePlan, {
          value: encodeButtonValue({ ...value, planId: planB }),
        }),
        ACTION_IDS.approvePlan,
      );
      expect(reply).toContain(`since the one you saw (${planB})`);
      count('otherRunRefused', 3);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await state()).toEqual(before);
    await stillServing();
    // The untampered button still works: the refusals were about the tampering.
    expect(findButtons(messageA.blocks).some((x) => x.actionId === ACTION_IDS.approvePlan)).toBe(
      true,
    );
    const res = await b.click(messageA, ACTION_IDS.approvePlan, { user: 'U0APPROVER' });
    expect(res.status).toBe(200);
    await b.h.waitFor(runA, 'awaiting_apply_approval');
    await b.h.core.cancelRun(runA, APPROVER);
    await b.h.waitFor(runB, 'awaiting_plan_approval');
    await b.h.core.cancelRun(runB, APPROVER);
  });
});

async function runCli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await cli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function approveAndApply(runId: string, end: 'completed' | 'failed' = 'completed') {
  const planned = await b.h.waitFor(runId, 'awaiting_plan_approval', 30_000);
  await b.h.core.approvePlan(runId, APPROVER, { planId: planned.plan?.id });
  await b.h.core.confirmApply(runId, APPROVER, { planId: planned.plan?.id });
  return b.h.waitFor(runId, end, 60_000);
}

describe('shell metacharacters, quotes and newlines in values arrive in the step as plain data', () => {
  /** As a person types it in Slack: in double quotes, with \ and " escaped. */
  const quoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

  function expectReceived(runId: string) {
    for (const phase of ['plan', 'apply']) {
      for (const [i, name] of NAMES.entries()) {
        const file = path.join(b.h.dataDir, 'state', 'echo', `${phase}-${runId}-${name}`);
        expect(readFileSync(file), `${phase} ${name}`).toEqual(Buffer.from(HOSTILE[i]!, 'utf8'));
        count('valuesComparedByteForByte');
      }
    }
  }

  it(`via /deploy in Slack (${HOSTILE.length} values, plan and apply)`, async () => {
    const text = `echo ${NAMES.map((n, i) => `${n}=${quoted(HOSTILE[i]!)}`).join(' ')}`;
    const runId = await b.runIdOf(await b.command(text));
    await approveAndApply(runId);
    expectReceived(runId);
  });

  it(`via the CLI (${HOSTILE.length} values as arguments, plan and apply)`, async () => {
    const exec = await runCli(
      'execute',
      'echo',
      ...NAMES.map((n, i) => `${n}=${HOSTILE[i]}`),
      '--as',
      'U0REQUESTER',
      '--json',
    );
    expect(exec.code, exec.err).toBe(0);
    const runId = (JSON.parse(exec.out) as { id: string }).id;
    await approveAndApply(runId);
    expectReceived(runId);
  });

  it('executed nothing: no marker file, the sentinel directory intact', () => {
    const made = [];
    for (let i = 0; i < 12; i++)
      for (const s of ['', 'b']) if (existsSync(`${MARK}-${i}${s}`)) made.push(`${MARK}-${i}${s}`);
    expect(made).toEqual([]);
    expect(readFileSync(path.join(SENTINEL, 'keep-me'), 'utf8')).toBe('still here');
    count('markerFilesCreated', made.length);
  });
});

/** Every place a value could surface, as text, by where it is. */
async function surfaces(runIds: readonly string[]): Promise<Record<string, string>> {
  const sql = b.h.core.connection.sql;
  const out: Record<string, string> = {};
  // Slack: every call the bot made (with every message version), every reply
  // to a response_url, ephemeral messages and uploaded files.
  out['Slack Web API calls'] = JSON.stringify(b.slack.calls);
  out['Slack response_url replies'] = JSON.stringify(b.slack.responses);
  out['Slack ephemeral messages'] = JSON.stringify(b.slack.ephemerals);
  out['Slack files'] = [...b.slack.files.values()]
    .map((f) => `${f.filename}\n${f.content?.toString('utf8') ?? ''}`)
    .join('\n');
  // The database: every row of every table (the bot's and pg-boss's included),
  // except the one column that must hold the value for the steps.
  const tables = await sql<{ schema: string; name: string }[]>`
    select table_schema as schema, table_name as name from information_schema.tables
    where table_schema in ('public', 'pgboss') and table_type = 'BASE TABLE'`;
  for (const t of tables) {
    const rows = await sql.unsafe<{ row: string }[]>(
      `select (to_jsonb(t) - 'secret_variables')::text as row from "${t.schema}"."${t.name}" t`,
    );
    out[`database ${t.schema}.${t.name}`] = rows.map((r) => r.row).join('\n');
  }
  // The CLI.
  const cliOut: string[] = [];
  for (const id of runIds) {
    for (const argv of [
      ['status', id, '--json'],
      ['status', id],
      ['logs', id],
      ['logs', id, '--json'],
      ['audit', id],
    ]) {
      const r = await runCli(...argv);
      cliOut.push(`$ deploy-bot ${argv.join(' ')}\n${r.out}\n${r.err}`);
    }
  }
  cliOut.push((await runCli('list', '--json', '--limit', '100')).out);
  out['CLI output'] = cliOut.join('\n');
  // The dashboard: the run detail and the whole log pane of each run.
  const tui: string[] = [];
  for (const id of runIds) {
    const run = await b.h.core.getRun(id);
    const rows = detailRows(run, await b.h.core.transitions(id), 140, Date.now(), PLAIN_THEME);
    const detail = renderSized(
      createElement(DetailPane, {
        rows,
        top: 0,
        width: 140,
        height: rows.length + 2,
        focused: true,
        title: 'Run',
        theme: PLAIN_THEME,
      }),
      140,
      rows.length + 2,
    );
    tui.push(stripAnsi(detail.lastFrame() ?? ''));
    detail.unmount();
    const window = new LogWindow(b.h.core, id, { height: 400 });
    await window.open();
    const log = window.getSnapshot();
    const pane = renderSized(
      createElement(LogPane, {
        log,
        width: 140,
        height: 402,
        focused: true,
        hOffset: 0,
        theme: PLAIN_THEME,
      }),
      140,
      402,
    );
    tui.push(stripAnsi(pane.lastFrame() ?? ''));
    pane.unmount();
    await window.close();
  }
  out['deploy-tui run detail and log pane'] = tui.join('\n');
  // The bot's own log.
  out['bot log'] = JSON.stringify(b.logs);
  return out;
}

/** The dashboard itself: each run searched for, opened (detail and log), every frame kept. */
async function dashboardFrames(runIds: readonly string[], expectInLog: string): Promise<string> {
  const app = await renderApp(b.h.core, { columns: 160, rows: 48 });
  try {
    for (const id of runIds) {
      await press(app.r, '/', ...id.split(''), KEYS.enter);
      await waitForText(app.r, `› ${id}`, 15_000);
      await press(app.r, KEYS.enter);
      await waitForText(app.r, expectInLog, 15_000);
      await press(app.r, KEYS.escape, KEYS.escape);
    }
    return app.r.stdout.frames.map(stripAnsi).join('\n');
  } finally {
    await app.close();
  }
}

function leaks(places: Record<string, string>, secret: string): string[] {
  return Object.entries(places)
    .filter(([, text]) => text.includes(secret))
    .map(([where, text]) => {
      const at = text.indexOf(secret);
      return `${where}: …${text.slice(Math.max(0, at - 80), at + secret.length + 40)}…`;
    });
}

describe('sensitive values never appear in Slack, stored logs, the database, the CLI, the dashboard, error messages or process arguments', () => {
  const stateDir = () => path.join(b.h.dataDir, 'state', 'secretive');

  /** Approves, waits for the apply step to run, inspects its processes, lets it finish. */
  async function applyInspected(runId: string, end: 'completed' | 'failed') {
    const planned = await b.h.waitFor(runId, 'awaiting_plan_approval', 30_000);
    await b.h.core.approvePlan(runId, APPROVER, { planId: planned.plan?.id });
    await b.h.core.confirmApply(runId, APPROVER, { planId: planned.plan?.id });
    await waitUntil(
      () => existsSync(path.join(stateDir(), `running-${runId}`)),
      `the apply step of ${runId} to run`,
      30_000,
    );
    const steps = processesWithEnv('DEPLOY_RUN_ID', runId);
    expect(steps.length, 'the step processes of the run').toBeGreaterThan(0);
    for (const p of steps) expect(p.argv.join(' ')).not.toContain(SECRET);
    count('stepProcessesInspected', steps.length);
    const anywhere = listProcesses().filter((p) => p.argv.join(' ').includes(SECRET));
    expect(anywhere.map((p) => `${p.pid}: ${p.argv.join(' ')}`)).toEqual([]);
    count('processesScanned', listProcesses().length);
    writeFileSync(path.join(stateDir(), `go-${runId}`), '');
    return b.h.waitFor(runId, end, 60_000);
  }

  it('printed on stdout and stderr, into the plan and its addresses, an invalid plan and an apply error: masked everywhere', async () => {
    mkdirSync(stateDir(), { recursive: true });
    const ids: string[] = [];
    // From Slack: a run that completes, one whose plan is invalid (the value is
    // the action), one whose apply fails naming the value.
    // One after the other: an apply supersedes the deployment's other runs.
    const badplan = await b.runIdOf(await b.command(`secretive api_key=${SECRET} mode=badplan`));
    const badplanEnd = await b.h.waitFor(badplan, 'failed', 30_000);
    expect(badplanEnd.failedPhase).toBe('plan');
    expect(badplanEnd.error).toContain(MASK);
    const ok = await b.runIdOf(await b.command(`secretive api_key=${SECRET} mode=ok`));
    await applyInspected(ok, 'completed');
    const failapply = await b.runIdOf(
      await b.command(`secretive api_key=${SECRET} mode=failapply`),
    );
    await applyInspected(failapply, 'failed');
    ids.push(ok, badplan, failapply);
    // From the CLI, with its own outputs kept.
    const cliOutput: string[] = [];
    const exec = await runCli(
      'execute',
      'secretive',
      `api_key=${SECRET}`,
      '--as',
      'U0REQUESTER',
      '--json',
    );
    expect(exec.code, exec.err).toBe(0);
    cliOutput.push(exec.out, exec.err);
    const fromCli = (JSON.parse(exec.out) as { id: string }).id;
    ids.push(fromCli);
    await b.h.waitFor(fromCli, 'awaiting_plan_approval', 30_000);
    const approve = await runCli('approve', fromCli, '--as', 'U0APPROVER');
    writeFileSync(path.join(stateDir(), `go-${fromCli}`), '');
    const apply = await runCli('apply', fromCli, '--as', 'U0APPROVER', '--wait', '--json');
    cliOutput.push(approve.out, approve.err, apply.out, apply.err);
    expect(apply.code, apply.err).toBe(0);
    await b.h.waitFor(fromCli, 'completed', 30_000);
    // Refusals about the value itself say it is hidden.
    const refused = await runCli(
      'execute',
      'secretive',
      `api_key=${SECRET} x`,
      '--as',
      'U0REQUESTER',
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('(hidden)');
    cliOutput.push(refused.out, refused.err);
    const refusedInSlack = await b.command(`secretive api_key="${SECRET} x"`);
    expect((await b.replies(refusedInSlack.responseUrl)).join('\n')).toContain('(hidden)');
    // Slack's answers about these runs: status and logs.
    for (const id of ids) {
      for (const text of [`status ${id}`, `logs ${id} 100`]) {
        const res = await b.command(text);
        await b.replies(res.responseUrl);
      }
    }
    for (const id of ids.slice(0, 3)) {
      await b.slack.waitFor(
        () => b.messagesOf(id)[0] && /Completed|Failed/.test(shownStatus(b.messagesOf(id)[0]!)),
        20_000,
      );
    }
    // The value was printed: the stored log has it masked.
    const masked = await b.h.core.connection.sql<{ n: number }[]>`
      select count(*)::int as n from run_logs where run_id = ${ok} and line like ${`%${MASK}%`}`;
    expect(masked[0]!.n).toBeGreaterThanOrEqual(4);

    const places = await surfaces(ids);
    places['CLI output (execute, approve, apply, refusal)'] = cliOutput.join('\n');
    places['deploy-tui app frames'] = await dashboardFrames(ids.slice(0, 3), MASK);
    count('placesChecked', Object.keys(places).length);
    const found = leaks(places, SECRET);
    count('leaks', found.length);
    expect(found).toEqual([]);
  }, 240_000);

  it('written by the apply step into its outputs (DEPLOY_OUTPUTS_FILE): masked everywhere', async () => {
    const runId = await b.runIdOf(await b.command(`secretive api_key=${SECRET} mode=outputs`));
    writeFileSync(path.join(stateDir(), `go-${runId}`), '');
    await approveAndApply(runId);
    await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Completed'), 20_000);
    const places = await surfaces([runId]);
    const found = leaks(places, SECRET);
    count('outputsLeakPlaces', found.length);
    if (found.length > 0)
      process.stdout.write(`[fault figures] outputs leak:\n  ${found.join('\n  ')}\n`);
    expect(found).toEqual([]);
  }, 120_000);

  it('a value the database cannot store (a NUL byte) is refused with a clear message that shows no sensitive value', async () => {
    const other = uniqueToken('sknul');
    const before = await state();
    const res = await b.command(`secretive api_key=${other} note="a\u0000b"`);
    expect(res.status).toBe(200);
    const reply = (await b.replies(res.responseUrl)).join('\n');
    await stillServing();
    expect(await state()).toEqual(before);
    const found = leaks({ 'Slack reply': reply, 'bot log': JSON.stringify(b.logs) }, other);
    count('nulByteLeakPlaces', found.length);
    expect(found).toEqual([]);
    expect(reply).not.toContain('Failed query');
  }, 60_000);
});
