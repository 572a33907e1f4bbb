// deploy-tui components and the whole app on fixtures (no database): frames as
// a person sees them at 80x24 and larger, keys, actions, refusals, live changes,
// the reconnecting banner and the error screen.

import { spawnSync } from 'node:child_process';
import { renderToString, Text } from 'ink';
import { render } from 'ink-testing-library';
import { createElement as h, type ReactElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunView, TransitionView } from '../src/core/api/types.ts';
import { Refusal } from '../src/core/errors.ts';
import { RUN_STATUSES } from '../src/core/lifecycle/statuses.ts';
import { Header, ReconnectBanner } from '../src/tui/components/chrome.ts';
import { ErrorBoundary } from '../src/tui/components/error-boundary.ts';
import { HelpScreen } from '../src/tui/components/help.ts';
import { LogPane } from '../src/tui/components/log-pane.ts';
import { RowLine, type Segment, styledLine } from '../src/tui/components/row.ts';
import { DetailPane, detailRows, timeline } from '../src/tui/components/run-detail.ts';
import { RunsTable, scrollOffset } from '../src/tui/components/runs-table.ts';
import type { LogSnapshot } from '../src/tui/data/log-window.ts';
import { displayWidth, stripAnsi } from '../src/tui/text/width.ts';
import { PLAIN_THEME } from '../src/tui/theme.ts';
import { makeBigPlan, makeRun } from './support/run-fixtures.ts';
import { FakeCore } from './support/tui-fake-core.ts';
import {
  type AppHandle,
  assertFits,
  frameOf,
  KEYS,
  press,
  renderApp,
  renderSized,
  waitForFrame,
  waitForNoText,
  waitForText,
} from './support/tui-ink.ts';

const NOW = Date.parse('2024-05-01T12:10:00Z');
const handles: AppHandle[] = [];
afterEach(async () => {
  while (handles.length) await handles.pop()!.close();
});

function still(element: ReactElement): string {
  const r = render(element);
  const frame = stripAnsi(r.lastFrame() ?? '');
  r.unmount();
  return frame;
}

function manyRuns(n: number): RunView[] {
  return Array.from({ length: n }, (_, i) =>
    makeRun({
      id: `run-${String(i).padStart(10, '0')}`,
      status: RUN_STATUSES[i % RUN_STATUSES.length]!,
      deployment:
        i % 7 === 0 ? 'checkout-service-with-a-really-long-deployment-name' : `svc-${i % 13}`,
      environment: i % 2 ? 'production-eu-west-1-blue' : 'staging',
      requestedBy: 'U012ABCDEFGHIJ',
      createdAt: new Date(NOW - i * 60_000).toISOString(),
    }),
  );
}

function transitionsFor(): TransitionView[] {
  const t = (
    to: TransitionView['to'],
    from: TransitionView['from'],
    at: string,
    actor = 'system',
    reason: string | null = null,
  ): TransitionView => ({
    from,
    to,
    actor,
    via: actor === 'system' ? 'system' : 'slack',
    reason,
    credential: null,
    at,
  });
  return [
    t('queued', null, '2024-05-01T12:00:00Z', 'U012ABCDEF', 'requested'),
    t('pending', 'queued', '2024-05-01T12:00:01Z'),
    t('initializing', 'pending', '2024-05-01T12:00:02Z'),
    t('planning', 'initializing', '2024-05-01T12:00:05Z'),
    t('awaiting_plan_approval', 'planning', '2024-05-01T12:00:20Z'),
    t(
      'awaiting_apply_approval',
      'awaiting_plan_approval',
      '2024-05-01T12:02:00Z',
      'U0APPROVER',
      'plan approved by U0APPROVER',
    ),
    t(
      'applying',
      'awaiting_apply_approval',
      '2024-05-01T12:03:00Z',
      'U0APPROVER',
      'apply confirmed by U0APPROVER',
    ),
    t('failed', 'applying', '2024-05-01T12:05:00Z', 'system', 'apply exited with status 1'),
  ];
}

describe('runs table', () => {
  it('fits 80 columns: long names end in an ellipsis, nothing wraps', () => {
    const runs = manyRuns(40);
    const frame = still(
      h(RunsTable, {
        runs,
        selected: 0,
        width: 80,
        height: 20,
        now: NOW,
        theme: PLAIN_THEME,
        emptyText: 'none',
      }),
    );
    assertFits(frame, 80, 20);
    const lines = frame.split('\n');
    expect(lines).toHaveLength(20);
    expect(lines[0]).toMatch(/RUN\s+DEPLOYMENT\s+ENV\s+STATUS\s+PHASE\s+BY\s+AGE/);
    expect(frame).toMatch(/checkout-s\S*…/);
    expect(frame).toContain('› run-0000000000');
    expect(frame).toContain('… Queued');
    expect(frame).toContain('⏸ Plan approval');
  });

  it('shows kind, full names and wider columns on a wide terminal', () => {
    const runs = manyRuns(5);
    const frame = still(
      h(RunsTable, {
        runs,
        selected: 1,
        width: 160,
        height: 8,
        now: NOW,
        theme: PLAIN_THEME,
        emptyText: 'none',
      }),
    );
    assertFits(frame, 160, 8);
    expect(frame).toMatch(/KIND/);
    expect(frame).toContain('execute');
    expect(frame).toContain('production-eu-west-1-blue');
  });

  it('renders only the visible rows of 1,000 runs, fast', () => {
    const runs = manyRuns(1000);
    const times: number[] = [];
    // A sized stream: ink-testing-library's makes Ink ask the real terminal its size each frame.
    const r = renderSized(
      h(RunsTable, {
        runs,
        selected: 0,
        width: 120,
        height: 30,
        now: NOW,
        theme: PLAIN_THEME,
        emptyText: '',
      }),
      120,
      40,
    );
    for (let i = 1; i <= 50; i++) {
      const started = performance.now();
      r.rerender(
        h(RunsTable, {
          runs,
          selected: i * 19,
          width: 120,
          height: 30,
          now: NOW,
          theme: PLAIN_THEME,
          emptyText: '',
        }),
      );
      times.push(performance.now() - started);
    }
    const frame = stripAnsi(r.lastFrame() ?? '');
    r.unmount();
    expect(frame.split('\n')).toHaveLength(30);
    expect(frame).toContain(`› run-${String(50 * 19).padStart(10, '0')}`);
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(
      `frame with 1,000 runs: median ${median.toFixed(2)}ms, max ${times.at(-1)!.toFixed(2)}ms`,
    );
    // Generous for a shared 2-core machine running other tests (React's development
    // build here): alone it is about 15ms, and a few ms with the production build.
    expect(median).toBeLessThan(250);
  });

  it('redraws a row it drew before when its run changes, the width changes or the clock ticks', () => {
    const runs = manyRuns(10);
    const at = runs.findIndex((r, i) => i > 0 && r.finishedAt === null);
    const run = runs[at]!;
    const table = (list: readonly RunView[], selected: number, width: number, now: number) =>
      h(RunsTable, {
        runs: list,
        selected,
        width,
        height: 12,
        now,
        theme: PLAIN_THEME,
        emptyText: '',
      });
    const lineOf = (frame: string, id: string) =>
      frame.split('\n').find((l) => l.includes(id)) ?? '';
    const r = renderSized(table(runs, 0, 120, NOW), 120, 12);
    expect(frameOf(r)).toContain('KIND');
    const before = lineOf(frameOf(r), run.id);
    expect(before).toMatch(new RegExp(`  ${at}m00s$`));

    // The same run, a new status: a new snapshot of it, even with the same version.
    const failed: RunView = {
      ...run,
      status: 'failed',
      statusLabel: 'Failed',
      currentPhase: null,
      failedPhase: 'execute',
      finishedAt: new Date(NOW).toISOString(),
    };
    const changed = runs.map((x) => (x.id === run.id ? failed : x));
    r.rerender(table(changed, 0, 120, NOW));
    expect(lineOf(frameOf(r), run.id)).toMatch(/✗ Failed\s+✗execute/);

    // The selection moves: the old row loses the marker, the new one has it.
    r.rerender(table(changed, at, 120, NOW));
    expect(lineOf(frameOf(r), run.id)).toMatch(/^› /);
    expect(lineOf(frameOf(r), runs[0]!.id)).toMatch(/^ {2}run-/);

    // The clock: a running run's age moves on.
    const running = changed.find((x) => x.finishedAt === null)!;
    const ageBefore = lineOf(frameOf(r), running.id).trim().split(/\s+/).at(-1);
    r.rerender(table(changed, at, 120, NOW + 65_000));
    const ageAfter = lineOf(frameOf(r), running.id).trim().split(/\s+/).at(-1);
    expect(ageAfter).not.toBe(ageBefore);
    expect(ageAfter).toMatch(/m05s$/);

    // Narrower: the kind column goes, every row is fitted again.
    r.rerender(table(changed, at, 80, NOW + 65_000));
    const narrow = frameOf(r);
    r.unmount();
    assertFits(narrow, 80, 12);
    expect(narrow).not.toContain('KIND');
    expect(lineOf(narrow, run.id)).toMatch(/^› run-\S+ .*✗ Failed/);
  });

  it('fits a line again when only the width changes', () => {
    const row = [
      { text: 'a line that is longer than twenty columns', bold: true },
      { text: ' and more' },
    ];
    const r = renderSized(h(RowLine, { row, width: 60 }), 60, 3);
    expect(frameOf(r)).toContain('a line that is longer than twenty columns and more');
    r.rerender(h(RowLine, { row, width: 20 }));
    expect(frameOf(r).trimEnd()).toBe('a line that is long…');
    r.rerender(h(RowLine, { row: [...row], width: 60, pad: true }));
    expect(frameOf(r)).toContain('columns and more');
    r.unmount();
  });

  it('keeps the rows still while the selection moves, then scrolls half a screen', () => {
    // 11 rows shown, 2 rows of context kept below and above the selection.
    expect(scrollOffset(5, 4, 11, 0)).toBe(0);
    expect(scrollOffset(100, 8, 11, 0)).toBe(0);
    expect(scrollOffset(100, 9, 11, 0)).toBe(4); // the selection in the middle again
    expect(scrollOffset(100, 12, 11, 4)).toBe(4);
    expect(scrollOffset(100, 6, 11, 4)).toBe(4);
    expect(scrollOffset(100, 5, 11, 4)).toBe(0); // up: the same, clamped at the top
    expect(scrollOffset(100, 0, 11, 0)).toBe(0);
    expect(scrollOffset(100, 99, 11, 4)).toBe(89); // G: the last screenful
    expect(scrollOffset(100, 99, 11, 89)).toBe(89); // no context to keep below the last run
    expect(scrollOffset(100, 50, 11, 89)).toBe(45); // a jump out of view
    expect(scrollOffset(20, 3, 11, 60)).toBe(0); // fewer runs than before (a filter)

    const runs = manyRuns(100);
    const table = (selected: number) =>
      h(RunsTable, {
        runs,
        selected,
        width: 120,
        height: 12,
        now: NOW,
        theme: PLAIN_THEME,
        emptyText: '',
      });
    const r = renderSized(table(0), 120, 12);
    let before = frameOf(r).split('\n');
    let scrolls = 0;
    for (let i = 1; i <= 40; i++) {
      r.rerender(table(i));
      const lines = frameOf(r).split('\n');
      const at = lines.findIndex((l) => l.startsWith(`› run-${String(i).padStart(10, '0')}`));
      expect(at, `selection ${i} on screen`).toBeGreaterThan(0);
      const changed = lines.filter((l, n) => l !== before[n]).length;
      if (changed > 2) {
        scrolls++;
        expect(at, 'in the middle after a scroll').toBe(1 + 5);
      } else {
        // Only the line left and the line selected were drawn again.
        expect(changed).toBe(2);
      }
      // Context below the selection while the list can still scroll.
      expect(at).toBeLessThanOrEqual(1 + 11 - 1 - 2);
      before = lines;
    }
    r.unmount();
    // 40 moves down: the first scroll after 9, then one every 4 (11 rows shown).
    expect(scrolls).toBe(8);
  });

  it('draws a line as nested <Text> elements would, with colours on and off', () => {
    // Every combination of styles and colours, next to each other, with the
    // glyphs the dashboard uses: the same output from Ink, byte for byte.
    const script = `
      import { renderToString, Text } from 'ink';
      import { createElement as h } from 'react';
      import { styledLine } from './src/tui/components/row.ts';
      const colours = [undefined, 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white', 'gray'];
      const segs = [];
      for (let i = 0; i < 16 * colours.length; i++) {
        segs.push({
          text: i % 5 === 4 ? '' : i % 3 ? 'ab ' : '› ● ✓ — ',
          color: colours[i % colours.length],
          bold: Boolean(i & 1), dim: Boolean(i & 2), inverse: Boolean(i & 4), underline: Boolean(i & 8),
        });
      }
      let differ = 0;
      for (let n = 1; n <= 4; n++) {
        for (let at = 0; at + n <= segs.length; at++) {
          const part = segs.slice(at, at + n);
          const nested = renderToString(h(Text, { wrap: 'truncate-end' }, ...part.map((s, k) =>
            h(Text, { key: k, color: s.color, bold: s.bold, dimColor: s.dim, inverse: s.inverse, underline: s.underline }, s.text))), { columns: 200 });
          const one = renderToString(h(Text, { wrap: 'truncate-end' }, styledLine(part)), { columns: 200 });
          if (nested !== one) differ++;
        }
      }
      const drawn = renderToString(h(Text, { bold: true }, 'x')) !== 'x';
      process.stdout.write(JSON.stringify({ drawn, differ }));
    `;
    for (const [force, drawn] of [
      ['2', true],
      ['0', false],
    ] as const) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: new URL('..', import.meta.url),
        env: { ...process.env, FORCE_COLOR: force, NODE_ENV: 'production' },
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      expect(JSON.parse(child.stdout)).toEqual({ drawn, differ: 0 });
    }
    // And in this process, whatever its colour level.
    const segs: Segment[] = [
      { text: '› ', inverse: true, bold: true },
      { text: 'run-1 ', color: 'cyan', inverse: true },
      { text: '● Applying', color: 'yellow', dim: true },
    ];
    expect(renderToString(h(Text, {}, styledLine(segs)))).toBe(
      renderToString(
        h(
          Text,
          {},
          ...segs.map((s, k) =>
            h(
              Text,
              { key: k, color: s.color, bold: s.bold, dimColor: s.dim, inverse: s.inverse },
              s.text,
            ),
          ),
        ),
      ),
    );
  });

  it('says so when there is nothing to show', () => {
    const frame = still(
      h(RunsTable, {
        runs: [],
        selected: 0,
        width: 80,
        height: 5,
        now: NOW,
        theme: PLAIN_THEME,
        emptyText: 'no runs yet',
      }),
    );
    expect(frame).toContain('no runs yet');
  });
});

describe('run detail', () => {
  it('shows the plan summary and addresses, approvals, timeline, error and hint, audit', () => {
    const approvals = makeRun({ status: 'completed' }).approvals;
    const run = makeRun({
      status: 'failed',
      approvals,
      createdAt: '2024-05-01T12:00:00Z',
      finishedAt: '2024-05-01T12:05:00Z',
    });
    const rows = detailRows(run, transitionsFor(), 100, NOW, PLAIN_THEME);
    const text = rows.map((r) => r.map((s) => s.text).join('')).join('\n');
    expect(text).toContain('✗ Failed');
    expect(text).toContain('+2 to add, ~1 to change, -1 to destroy');
    expect(text).toContain('+ create  aws_instance.web[0]');
    expect(text).toContain('- delete  aws_lb_target_group.old');
    expect(text).toMatch(/✓ plan\s+by U0APPROVER via slack/);
    expect(text).toMatch(/✓ apply\s+by U0APPROVER via slack/);
    expect(text).toContain('failed in execute');
    expect(text).toContain('UnauthorizedOperation');
    expect(text).toContain('Hint: Inspect the server');
    expect(text).toMatch(/✓ detect\s+\S+\s+4s/);
    expect(text).toMatch(/✓ plan\s+\S+\s+15s/);
    expect(text).toMatch(/✓ approval\s+\S+\s+2m40s/);
    expect(text).toMatch(/✗ execute\s+\S+\s+2m00s/);
    expect(text).toContain('Audit trail');
    expect(text).toMatch(
      /awaiting_apply_approval\s+→ applying\s+U0APPROVER \(slack\): apply confirmed/,
    );
  });

  it('derives the phase timeline from the audit trail', () => {
    const run = makeRun({
      status: 'failed',
      failedPhase: 'execute',
      finishedAt: '2024-05-01T12:05:00Z',
    });
    const stages = timeline(run, transitionsFor()).map((e) => `${e.stage}:${e.state}`);
    expect(stages).toEqual([
      'queue:done',
      'detect:done',
      'plan:done',
      'approval:done',
      'execute:failed',
      'end:end',
    ]);
  });

  it('shows outputs of a completed run, and a scrollable pane that fits', () => {
    const run = makeRun({ status: 'completed', plan: makeBigPlan(300, 120) });
    const rows = detailRows(run, [], 80, NOW, PLAIN_THEME);
    const text = rows.map((r) => r.map((s) => s.text).join('')).join('\n');
    expect(text).toContain('url = https://web.example.com');
    expect(text).toContain('instance_ids = ["i-1","i-2"]');
    const frame = still(
      h(DetailPane, {
        rows,
        top: 10,
        width: 80,
        height: 12,
        focused: true,
        title: 'Run',
        theme: PLAIN_THEME,
      }),
    );
    assertFits(frame, 80, 12);
    expect(frame.split('\n')).toHaveLength(12);
    expect(frame).toMatch(/11–21 of \d+/);
    expect(frame).toContain('…');
  });
});

describe('log pane', () => {
  it('shows the visible lines, the position in the log and whether it follows', () => {
    const lines = Array.from({ length: 30 }, (_, i) => ({
      id: 100 + i,
      runId: 'run-x',
      phase: 'apply',
      stream: i === 29 ? ('stderr' as const) : ('stdout' as const),
      line: i === 29 ? `boom ${'x'.repeat(200)}` : `step ${i}`,
      at: '2024-05-01T12:00:00Z',
    }));
    const log: LogSnapshot = {
      runId: 'run-x',
      lines,
      startIndex: 999_970,
      total: 1_000_000,
      top: 20,
      height: 10,
      following: true,
      hasOlder: true,
      hasNewer: false,
      loading: false,
      opened: true,
      error: null,
      missed: 0,
    };
    const frame = still(
      h(LogPane, { log, width: 80, height: 11, focused: true, hOffset: 0, theme: PLAIN_THEME }),
    );
    assertFits(frame, 80, 11);
    expect(frame).toContain('999,991–1,000,000 of 1,000,000 · following');
    expect(frame).toContain('step 20');
    expect(frame).not.toContain('step 19');
    expect(frame).toMatch(/! boom x+…/);
    const paused = still(
      h(LogPane, {
        log: { ...log, following: false, missed: 12 },
        width: 80,
        height: 11,
        focused: false,
        hOffset: 0,
        theme: PLAIN_THEME,
      }),
    );
    expect(paused).toContain('paused, 12 new');
  });
});

describe('chrome', () => {
  it('says read-only without an identity, and who acts with one', () => {
    const ro = still(
      h(Header, {
        width: 80,
        theme: PLAIN_THEME,
        actor: null,
        context: [{ text: 'x' }],
        right: '3 runs',
      }),
    );
    expect(ro).toContain('read-only');
    const as = still(
      h(Header, {
        width: 80,
        theme: PLAIN_THEME,
        actor: 'U0ME',
        context: [{ text: 'x' }],
        right: '3 runs',
      }),
    );
    expect(as).toContain('as U0ME');
    expect(as).toMatch(/3 runs$/);
  });

  it('shows a reconnecting banner', () => {
    const frame = still(
      h(ReconnectBanner, { width: 80, theme: PLAIN_THEME, lostSince: NOW - 5000, now: NOW }),
    );
    expect(frame).toContain('reconnecting to the database');
    expect(frame).toContain('lost 5s ago');
    expect(displayWidth(frame)).toBeLessThanOrEqual(80);
  });

  it('fits the help screen into 80x24', () => {
    const frame = still(h(HelpScreen, { width: 80, height: 24, actor: null, theme: PLAIN_THEME }));
    assertFits(frame, 80, 24);
    expect(frame).toContain('approve the plan');
    expect(frame).toContain('Read-only: set DEPLOY_TUI_USER');
  });

  it('shows an error screen, not a stack trace, when a component crashes; r retries', async () => {
    let fail = true;
    function Bomb(): ReactElement {
      if (fail) throw new Error('cannot draw the run: plan.changes is not iterable');
      return h('ink-text', null, 'recovered');
    }
    const quits: number[] = [];
    const r = render(
      h(
        ErrorBoundary,
        { width: 80, height: 24, theme: PLAIN_THEME, onQuit: () => quits.push(1) },
        h(Bomb),
      ),
    );
    const frame = stripAnsi(r.lastFrame() ?? '');
    expect(frame).toContain('deploy-tui hit a problem drawing this screen');
    expect(frame).toContain('plan.changes is not iterable');
    expect(frame).not.toMatch(/\bat .*\.ts:\d+/);
    fail = false;
    r.stdin.write('r');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stripAnsi(r.lastFrame() ?? '')).toContain('recovered');
    r.unmount();
  });
});

describe('the app on fixtures', () => {
  function coreWith(statuses: readonly RunView['status'][]): FakeCore {
    const core = new FakeCore();
    statuses.forEach((status, i) => {
      core.addRun({
        id: `run-${String(i).padStart(10, '0')}`,
        status,
        deployment: i === 0 ? 'web' : `svc-${i}`,
        environment: i % 2 ? 'staging' : 'production',
        createdAt: new Date(Date.now() - (statuses.length - i) * 60_000).toISOString(),
      });
    });
    return core;
  }

  it('lists runs newest first, moves with j/k and arrows, opens with enter, back with esc', async () => {
    const core = coreWith(['completed', 'failed', 'awaiting_plan_approval']);
    const a = await renderApp(core);
    handles.push(a);
    let frame = await waitForText(a.r, '3 runs');
    assertFits(frame, 80, 24);
    const order = frame
      .split('\n')
      .filter((l) => /^[ ›] run-/.test(l))
      .map((l) => l.match(/run-\d+/)![0]);
    expect(order).toEqual(['run-0000000002', 'run-0000000001', 'run-0000000000']);
    expect(frame).toContain('› run-0000000002');
    await press(a.r, 'j');
    await waitForText(a.r, '› run-0000000001');
    await press(a.r, KEYS.down, 'k');
    await waitForText(a.r, '› run-0000000001');
    await press(a.r, KEYS.enter);
    frame = await waitForText(a.r, 'Audit trail', 5000).catch(() => waitForText(a.r, '─ Log'));
    expect(frame).toContain('run-0000000001');
    expect(frame).toContain('✗ Failed');
    assertFits(frame, 80, 24);
    await press(a.r, KEYS.escape);
    await waitForText(a.r, '3 runs');
  });

  it('filters by status group, deployment and search', async () => {
    const core = coreWith(['completed', 'failed', 'awaiting_plan_approval', 'applying']);
    const a = await renderApp(core);
    handles.push(a);
    await waitForText(a.r, '4 runs');
    await press(a.r, '3');
    let frame = await waitForText(a.r, 'status: failed');
    await waitForText(a.r, '1 runs');
    frame = frameOf(a.r);
    expect(frame).toContain('run-0000000001');
    expect(frame).not.toContain('run-0000000002');
    await press(a.r, 's');
    await waitForText(a.r, 'status: all');
    await press(a.r, '/', 's', 'v', 'c', '-', '2');
    frame = await waitForText(a.r, '1 of 4 runs');
    expect(frame).toContain('search: svc-2');
    await press(a.r, KEYS.enter, KEYS.escape);
    await waitForText(a.r, '4 runs');
    await press(a.r, '/', 'z', 'z', 'z');
    await waitForText(a.r, 'nothing matches "zzz"');
    await press(a.r, KEYS.escape);
    await waitForText(a.r, '4 runs');
    await press(a.r, 'd');
    await waitForFrame(a.r, (f) => /deployment: (web|svc-\d)/.test(f), 'a deployment filter');
  });

  it('is read-only without an identity: no action keys, and a key explains why', async () => {
    const core = coreWith(['awaiting_plan_approval']);
    const a = await renderApp(core, { actor: null });
    handles.push(a);
    const frame = await waitForText(a.r, '1 runs');
    expect(frame).toContain('read-only');
    expect(frame).not.toContain('approve plan');
    await press(a.r, 'a');
    await waitForText(a.r, 'read-only: set DEPLOY_TUI_USER');
    expect(core.calls.some((c) => c.startsWith('approve'))).toBe(false);
  });

  it('approves behind a confirmation, as the operator via tui', async () => {
    const core = coreWith(['awaiting_plan_approval']);
    const a = await renderApp(core, { actor: { id: 'U0OPERATOR', via: 'tui' } });
    handles.push(a);
    let frame = await waitForText(a.r, 'a approve plan');
    await press(a.r, 'a');
    frame = await waitForText(a.r, 'Approve the plan of run-0000000000');
    assertFits(frame, 80, 24);
    await press(a.r, 'n');
    await waitForNoText(a.r, 'Approve the plan of');
    expect(core.calls.some((c) => c.startsWith('approve'))).toBe(false);
    await press(a.r, 'a', 'y');
    await waitForText(a.r, 'plan approved: run-0000000000 is now awaiting apply approval');
    expect(core.calls).toContain('approve:run-0000000000:U0OPERATOR:tui');
    frame = await waitForText(a.r, 'x apply');
    expect(frame).toContain('⏸ Apply approval');
  });

  it("shows the core's exact reason when an action is refused", async () => {
    const core = coreWith(['awaiting_plan_approval']);
    const a = await renderApp(core, { actor: { id: 'U0STRANGER', via: 'tui' } });
    handles.push(a);
    await waitForText(a.r, 'a approve plan');
    core.refuseWith = new Refusal('not_approver', 'you are not an approver of web: ask U0APPROVER');
    await press(a.r, 'a', 'y');
    await waitForText(a.r, 'refused: you are not an approver of web: ask U0APPROVER');
  });

  it('cancels with a typed reason', async () => {
    const core = coreWith(['planning']);
    const a = await renderApp(core, { actor: { id: 'U0OPERATOR', via: 'tui' } });
    handles.push(a);
    await waitForText(a.r, 'c cancel');
    await press(a.r, 'c');
    await waitForText(a.r, 'Reason (optional)');
    await press(a.r, 'o', 'o', 'p', 's', KEYS.backspace, KEYS.enter);
    await waitForText(a.r, 'cancelled: run-0000000000 is now cancelled');
    expect(core.calls).toContain('cancel(oop):run-0000000000:U0OPERATOR:tui');
  });

  it('shows runs started and moved elsewhere without a key press', async () => {
    const core = coreWith(['completed']);
    const a = await renderApp(core);
    handles.push(a);
    await waitForText(a.r, '1 runs');
    const run = core.addRun({
      id: 'run-fromslack0',
      status: 'queued',
      createdAt: new Date().toISOString(),
    });
    core.announce(run);
    await waitForText(a.r, 'run-fromslack0');
    core.changeRun('run-fromslack0', { status: 'planning', currentPhase: 'plan' });
    await waitForFrame(a.r, (f) => /run-fromslack0.*◐ Planning/.test(f), 'the run planning');
  });

  it('shows the reconnecting banner while the database is away, and recovers', async () => {
    const core = coreWith(['completed']);
    const a = await renderApp(core);
    handles.push(a);
    await waitForText(a.r, '1 runs');
    core.pingOk = false;
    const frame = await waitForText(a.r, 'reconnecting to the database');
    assertFits(frame, 80, 24);
    core.addRun({ id: 'run-meanwhile0', status: 'queued', createdAt: new Date().toISOString() });
    core.pingOk = true;
    await waitForNoText(a.r, 'reconnecting');
    await waitForText(a.r, 'run-meanwhile0');
  });

  it('follows resizes and fits every size from 80x24 up', async () => {
    const core = new FakeCore();
    for (const run of manyRuns(60)) core.runs.push(run);
    const a = await renderApp(core);
    handles.push(a);
    await waitForText(a.r, '60 runs');
    for (const [c, rows] of [
      [80, 24],
      [100, 30],
      [200, 50],
      [81, 25],
    ] as const) {
      a.resize(c, rows);
      const frame = await waitForFrame(a.r, (f) => f.split('\n').length === rows, `${rows} lines`);
      assertFits(frame, c, rows);
    }
    await press(a.r, KEYS.enter);
    await waitForText(a.r, '─ Log');
    a.resize(160, 40);
    const wide = await waitForFrame(a.r, (f) => f.split('\n').length === 40, '40 lines');
    assertFits(wide, 160, 40);
  });

  it('opens the help with ? and closes it with any key; q quits', async () => {
    const core = coreWith(['completed']);
    const a = await renderApp(core);
    handles.push(a);
    await waitForText(a.r, '1 runs');
    await press(a.r, '?');
    await waitForText(a.r, 'deploy-tui keys');
    await press(a.r, 'x');
    await waitForText(a.r, '1 runs');
    await press(a.r, 'q');
    expect(a.quits).toHaveLength(1);
  });

  it('follows the open run log live and scrolls it', async () => {
    const core = coreWith(['applying']);
    core.writeLog(
      'run-0000000000',
      Array.from({ length: 100 }, (_, i) => `applying step ${i}`),
    );
    const a = await renderApp(core);
    handles.push(a);
    await waitForText(a.r, '1 runs');
    await press(a.r, KEYS.enter);
    await waitForText(a.r, 'applying step 99');
    core.writeLog('run-0000000000', ['a brand new line']);
    await waitForText(a.r, 'a brand new line');
    await press(a.r, KEYS.tab, 'g');
    await waitForText(a.r, 'applying step 0');
    let frame = frameOf(a.r);
    expect(frame).toContain('paused');
    await press(a.r, 'G');
    frame = await waitForText(a.r, 'a brand new line');
    expect(frame).toContain('following');
    await press(a.r, KEYS.pageUp);
    await waitForText(a.r, 'paused');
    await press(a.r, 'f');
    await waitForText(a.r, 'following');
  });
});
