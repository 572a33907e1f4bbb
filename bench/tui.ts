// Item 6, deploy-tui: (a) the memory of a real `deploy-tui` in a pseudo-terminal
// following the log of an apply that prints 1,000,000 lines through a real
// `deploy-bot serve`; (b) the time of a frame with 1,000 runs listed.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeployCore } from '../src/core/api/core.ts';
import { type Pty, startPty } from '../test/support/tui-pty.ts';
import { freshDatabase, type Proc, ROOT, sleep, startDeployBot, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { revision } from './lib/revision.ts';
import { nodeArgsOf } from './lib/slack.ts';
import { ms, summarize } from './lib/stats.ts';
import { measureFrames } from './lib/tui-frames.ts';

const LINES = Number(process.env.BENCH_TUI_LINES ?? 1_000_000);
const FRAMES = Number(process.env.BENCH_TUI_FRAMES ?? 200);
const COLUMNS = 120;
const ROWS = 40;

const CONFIG = `deployments:
  - name: noisy
    approvers: [U0BENCH]
    allowSelfApproval: true
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 10m }
`;
const FILES = {
  'app/plan.sh': `#!/bin/sh\necho "planning the noisy apply"\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': `#!/bin/sh\nawk 'BEGIN { for (i = 0; i < ${LINES}; i++) print "deploy step output line " i " of a noisy apply, with some text to make it realistic" }'\n`,
};

const KEY = { enter: '\r' };

function statusOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

function rssOf(pid: number): number {
  const status = statusOf(pid);
  return Number(/VmRSS:\s+(\d+)/.exec(status ?? '')?.[1] ?? 0) * 1024;
}

function ppidOf(pid: number): number {
  return Number(/PPid:\s+(\d+)/.exec(statusOf(pid) ?? '')?.[1] ?? -1);
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The deploy-tui node process: a child of the pty relay (python3), itself a child of this process. */
function findTuiPid(): number | null {
  const pids = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const relays = pids.filter(
    (p) =>
      ppidOf(p) === process.pid && /python/.test(path.basename(cmdlineOf(p).split(' ')[0] ?? '')),
  );
  for (const p of pids) {
    if (relays.includes(ppidOf(p)) && cmdlineOf(p).includes('deploy-tui.js')) return p;
  }
  return null;
}

type FollowResult = {
  opened: number;
  peak: number;
  end: number;
  samples: number;
  shownAfter: number;
  applySeconds: number;
  peakAfter: number;
  status: string;
  /** From bench/lib/mem-probe.ts when it was loaded: the sample at the RSS peak. */
  probeAtPeak: ProbeSample | null;
  maxHeapTotal: number;
};

type ProbeSample = {
  at: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
};

/** One pass: a fresh database and serve, deploy-tui following a LINES-line apply. */
async function followPass(extraArgs: readonly string[], probe: boolean): Promise<FollowResult> {
  const db = await freshDatabase('tui');
  const ws = workspace(CONFIG, FILES);
  const probeFile = path.join(ws.dir, 'mem-probe.jsonl');
  let serve: Proc | null = null;
  let pty: Pty | null = null;
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  const actor = { id: 'U0BENCH', via: 'api' as const };
  try {
    serve = await startDeployBot('serve', ws, db.url);
    const run = await core.requestRun({ deployment: 'noisy', actor });
    while ((await core.getRun(run.id)).status !== 'awaiting_plan_approval') await sleep(20);

    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ['NO_COLOR', 'FORCE_COLOR', 'DEPLOY_TUI_USER', 'NODE_ENV', 'CI']) delete env[k];
    pty = startPty({
      command: process.execPath,
      args: [
        // As `npm run tui` starts it; then the variant's flags, then any diagnostics
        // (a profiler) from BENCH_TUI_NODE_ARGS.
        ...nodeArgsOf('tui'),
        ...extraArgs,
        ...(probe ? ['--import', path.join(import.meta.dirname, 'lib', 'mem-probe.ts')] : []),
        ...(process.env.BENCH_TUI_NODE_ARGS ?? '').split(' ').filter(Boolean),
        path.join(ROOT, 'bin', 'deploy-tui.js'),
      ],
      env: {
        ...env,
        TERM: 'xterm-256color',
        DATABASE_URL: db.url,
        DEPLOY_CONFIG: ws.configFile,
        DEPLOY_BOT_DATA_DIR: ws.dataDir,
        ...(probe ? { BENCH_MEM_PROBE: probeFile } : {}),
      },
      cwd: ws.dir,
      columns: COLUMNS,
      rows: ROWS,
    });
    await pty.waitForText(run.id, 60_000);
    pty.write(KEY.enter);
    await pty.waitForText('planning the noisy apply');
    await pty.waitForText('following');
    let pid: number | null = null;
    for (let i = 0; i < 50 && pid === null; i++) {
      pid = findTuiPid();
      if (pid === null) await sleep(100);
    }
    if (pid === null) throw new Error('could not find the deploy-tui process');
    const tuiPid = pid;
    await sleep(1000);
    const opened = rssOf(tuiPid);
    const samples: { at: number; rss: number }[] = [];
    const sampler = setInterval(() => {
      samples.push({ at: Date.now(), rss: rssOf(tuiPid) });
    }, 200);

    await core.approvePlan(run.id, actor);
    const t0 = Date.now();
    await core.confirmApply(run.id, actor);
    let done = await core.getRun(run.id);
    while (done.finishedAt === null) {
      await sleep(200);
      done = await core.getRun(run.id);
    }
    const finishedAt = Date.parse(done.finishedAt!);
    const lastLine = `deploy step output line ${LINES - 1} of`;
    let shownAfter = Number.NaN;
    try {
      await pty.waitForText(lastLine, 120_000);
      shownAfter = Math.max(0, Date.now() - finishedAt);
    } catch {
      // reported by the caller
    }
    await sleep(5000);
    clearInterval(sampler);
    const peak = Math.max(opened, ...samples.map((x) => x.rss));
    const peakAt = samples.find((x) => x.rss === peak)?.at ?? t0;
    // Quit as a person does (a profiler writes its file on exit).
    pty.write('q');
    await Promise.race([pty.exited, sleep(10_000)]);
    let probeAtPeak: ProbeSample | null = null;
    let maxHeapTotal = 0;
    if (probe) {
      const probes = readFileSync(probeFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ProbeSample);
      probeAtPeak = probes.reduce((a, b) => (b.rss > a.rss ? b : a));
      maxHeapTotal = Math.max(...probes.map((x) => x.heapTotal));
    }
    return {
      opened,
      peak,
      end: samples.at(-1)?.rss ?? 0,
      samples: samples.length,
      shownAfter,
      applySeconds: (finishedAt - t0) / 1000,
      peakAfter: (peakAt - t0) / 1000,
      status: done.status,
      probeAtPeak,
      maxHeapTotal,
    };
  } finally {
    pty?.kill();
    if (pty) await pty.exited;
    await serve?.stop();
    await core.close();
    await db.drop();
  }
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const shown = (r: FollowResult) =>
  Number.isFinite(r.shownAfter) ? `${ms(r.shownAfter)} after the run finished` : 'not within 120 s';

async function followMemory(report: Report) {
  const section = report.section(
    `deploy-tui following a ${LINES.toLocaleString('en')}-line apply log`,
    'npm run bench -- tui',
  );
  const r = await followPass([], false);
  row(
    section,
    `deploy-tui peak RSS (${r.samples} samples, every 200 ms)`,
    mb(r.peak),
    '< 200 MB',
    r.peak < 200 * 2 ** 20,
  );
  row(
    section,
    'RSS with the run open before the apply / 5 s after the last line was shown',
    `${mb(r.opened)} / ${mb(r.end)}`,
  );
  row(section, 'the log pane showed the last line', shown(r), 'yes', Number.isFinite(r.shownAfter));
  row(
    section,
    `apply (${LINES.toLocaleString('en')} lines ingested by deploy-bot serve)`,
    `${r.applySeconds.toFixed(1)} s, ${r.status}; RSS peaked ${r.peakAfter.toFixed(1)} s after the apply was confirmed`,
  );
  section.notes.push(
    `A real \`deploy-tui\` (\`node ${nodeArgsOf('tui').join(' ')} bin/deploy-tui.js\`, as \`npm run tui\`) in a ${COLUMNS}x${ROWS} pseudo-terminal (python3's pty module, test/support/tui-pty.ts; the benchmark emulates the screen to find text), against the database of a real \`deploy-bot serve\`. The run is opened from the list with enter, so the run screen follows its log live; then the plan is approved and the apply confirmed through the core API, and the apply step (\`awk\`) prints ${LINES.toLocaleString('en')} lines.`,
    'RSS is VmRSS of the deploy-tui node process itself (found as the child of the pty relay, checked by its command line), read from /proc every 200 ms from before the apply until 5 s after the last line appeared on the screen.',
    `Product at ${revision()}.`,
  );
  if (process.env.BENCH_TUI_DIAGNOSE === '0') return;
  // Why: the same pass with a probe of V8's heap in the process, without and with a cap
  // on the old generation (as `npm start` has for serve).
  for (const [label, args] of [
    ['diagnosis, heap probe', []],
    ['diagnosis, heap probe and --max-old-space-size=64', ['--max-old-space-size=64']],
  ] as const) {
    const d = await followPass(args, true);
    const p = d.probeAtPeak;
    row(
      section,
      `${label}: peak RSS; at the peak V8 heap total / used, external`,
      `${mb(d.peak)}; ${p ? `${p.heapTotal} / ${p.heapUsed} MB, ${p.external} MB` : 'n/a'} (largest heap total ${d.maxHeapTotal} MB); last line ${shown(d)}`,
    );
  }
  section.notes.push(
    'Why: deploy-tui takes ~150 MB before following anything (V8 heap ~55 MB, ~30 MB external incl. the yoga layout engine’s WebAssembly memory, the rest code and Node itself). Following, core.followLogs reads every one of the 1,000,000 lines (pages of 5,000, each turned into LogLine objects) although the log window keeps only the last 2,000: the garbage survives scavenges while a page is in flight, and without a limit V8 grows the old generation (heap total ~200 MB with ~55 MB live) and does not give the memory back. Capping the old generation (second diagnosis row) keeps the heap at ~65 MB and the peak RSS under 200 MB.',
    'Diagnosis rows: two more passes with bench/lib/mem-probe.ts preloaded in deploy-tui (process.memoryUsage() every 200 ms to a file), the second with `--max-old-space-size=64` added to the node flags: how much of the RSS is V8 heap grown by the garbage of reading every line, and what a cap on the old generation does to it.',
  );
}

async function frameTime(report: Report) {
  const section = report.section(
    'deploy-tui frame time with 1,000 runs listed',
    'npm run bench -- tui',
  );
  let build = '';
  for (const [columns, rows] of [
    [80, 24],
    [200, 60],
  ] as const) {
    const r = await measureFrames(columns, rows, FRAMES);
    build = r.reactBuild;
    const key = summarize(r.key);
    const data = summarize(r.data);
    const ink = summarize(r.inkRender);
    const worst = Math.max(key.p95, data.p95);
    row(
      section,
      `${columns}x${rows}: key ↓ → frame written, p50 / p95 / max (n=${key.n})`,
      `${ms(key.p50)} / ${ms(key.p95)} / ${ms(key.max)}`,
      'p95 ≤ 30 ms',
      key.p95 <= 30 && r.checked,
    );
    row(
      section,
      `${columns}x${rows}: a listed run changes → frame written, p50 / p95 / max (n=${data.n})`,
      `${ms(data.p50)} / ${ms(data.p95)} / ${ms(data.max)}`,
      'p95 ≤ 30 ms',
      data.p95 <= 30,
    );
    const page = summarize(r.page);
    row(
      section,
      `${columns}x${rows}: PgDn or g (every row of the list new) → frame written, p50 / p95 / max (n=${page.n})`,
      `${ms(page.p50)} / ${ms(page.p95)} / ${ms(page.max)}`,
    );
    row(
      section,
      `${columns}x${rows}: of which Ink building the output, p50 / p95; bytes written per key frame`,
      `${ms(ink.p50)} / ${ms(ink.p95)}; ${r.bytesPerFrame.toLocaleString('en')} B${r.checked ? '' : ' (**the screen did not show the expected selection**)'}`,
    );
    if (worst > 30) process.stdout.write(`  (frame time above target at ${columns}x${rows})\n`);
  }
  section.notes.push(
    `The real \`App\` of deploy-tui and its \`RunsStore\` over the tests' in-memory FakeCore holding 1,000 RunView fixtures (test/support/run-fixtures.ts \`makeRun\`: every status, long and short names), rendered by Ink with deploy-tui's own options (alternate screen, incremental rendering, 30 fps, colours) into a stream with the terminal's size, in a separate process whose React is the production build (${build}).`,
    `A frame: from writing the key (↓ on the runs list) to Ink's stdin, or from \`store.upsert()\` of a listed run with a new status (what the store does after a NOTIFY and its fetch; the merge and sort of the 1,000 runs included), to the last write of the frame to the terminal stream. Each trigger comes 60 ms after the previous frame, so that Ink's 30 fps throttle never delays it; 20 warm-up frames first; ${FRAMES} measured. The once-a-second clock re-render is turned off (tickMs) so that it never shares a measured frame. After the key frames, the emulated screen is checked to show the selection where the keys put it.`,
    'Where a frame’s time goes (`node --cpu-prof` of bench/lib/tui-frames.ts at 200x60): rows are memoised, so a key ↓ re-renders two rows and React costs about 1 ms; the screen clips only vertically (a horizontal clip made Ink slice and re-tokenize every line). What is left is inside Ink: about 30% string-width’s slow path (every row holds a non-ASCII status symbol; `widestLine` per row, `lineUpdate` per changed line, and each ↓ scrolls every line), the rest Ink tokenizing and serialising the 200x60 output. The benchmark draws colours (FORCE_COLOR=2: the child’s stdout is a pipe, which would turn chalk off).',
  );
}

export async function benchTui(report: Report) {
  // BENCH_TUI_PARTS=frames (or memory) runs one part alone.
  const parts = (process.env.BENCH_TUI_PARTS ?? 'frames,memory').split(',');
  if (parts.includes('frames')) await frameTime(report);
  if (parts.includes('memory')) await followMemory(report);
}
