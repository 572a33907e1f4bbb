// The step process: its program runs only after its process id is recorded
// (the gate on fd 3), a missing program is named, and output arrives line by line.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepLaunchError } from '../src/core/executors/launch-error.ts';
import { runStep, StepNotStarted } from '../src/core/executors/process.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-step-'));
  writeFileSync(
    path.join(dir, 'step.sh'),
    '#!/bin/sh\necho "ran $$" > ran\necho one\necho two >&2\n',
    {
      mode: 0o755,
    },
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const base = () => ({
  label: 'test step ./step.sh',
  command: './step.sh',
  cwd: dir,
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  timeoutMs: 10_000,
});

describe('runStep', () => {
  it('runs the program as the recorded process, after onStart resolved', async () => {
    const lines: string[] = [];
    let recorded = 0;
    const result = await runStep({
      ...base(),
      onLine: (stream, line) => lines.push(`${stream}: ${line}`),
      onStart: async (pid) => {
        // The program has not run yet: it waits for the record.
        await new Promise((r) => setTimeout(r, 200));
        expect(existsSync(path.join(dir, 'ran'))).toBe(false);
        recorded = pid;
      },
    });
    expect(result.outcome).toBe('succeeded');
    expect(lines.sort()).toEqual(['stderr: two', 'stdout: one']);
    // exec keeps the pid: the recorded process is the program's.
    expect(readFileSync(path.join(dir, 'ran'), 'utf8').trim()).toBe(`ran ${recorded}`);
  });

  it('never runs the program when the process id cannot be recorded', async () => {
    const failure = await runStep({
      ...base(),
      onLine: () => {},
      onStart: async () => {
        throw new Error('database unavailable');
      },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepNotStarted);
    expect((failure as Error).message).toBe(
      'test step ./step.sh was not started: deploy-bot could not record its process first (database unavailable)',
    );
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('never runs the program when the worker dies before recording it', async () => {
    // A worker (a child process) whose record never finishes, killed with SIGKILL.
    const worker = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { runStep } from ${JSON.stringify(path.resolve('src/core/executors/process.ts'))};
         runStep({ label: 's', command: './step.sh', cwd: ${JSON.stringify(dir)},
           env: { PATH: process.env.PATH }, timeoutMs: 60000, onLine: () => {},
           onStart: (pid) => { console.log(pid); return new Promise(() => {}); } });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pid = await new Promise<number>((resolve) =>
      worker.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    // The gate reads end-of-file and exits without running the program.
    for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('a step runner that dies ends its steps, stops what they left, and is replaced', async () => {
    writeFileSync(path.join(dir, 'slow.sh'), '#!/bin/sh\necho started\nsleep 30\n', {
      mode: 0o755,
    });
    let stepPid = 0;
    const lines: string[] = [];
    const slow = runStep({
      ...base(),
      command: './slow.sh',
      onLine: (_stream, line) => lines.push(line),
      onStart: (pid) => {
        stepPid = pid;
      },
    });
    for (let i = 0; i < 200 && !lines.includes('started'); i++)
      await new Promise((r) => setTimeout(r, 10));
    // The step's parent is the runner (not this process): kill it.
    const runnerPid = Number(
      readFileSync(`/proc/${stepPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1],
    );
    expect(runnerPid).not.toBe(process.pid);
    process.kill(runnerPid, 'SIGKILL');
    const result = await slow;
    expect(result).toMatchObject({ outcome: 'failed', signal: 'SIGKILL' });
    for (let i = 0; i < 100 && processAlive(stepPid); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(processAlive(stepPid)).toBe(false);
    // The next step gets a new runner.
    const next = await runStep({ ...base(), onLine: () => {} });
    expect(next.outcome).toBe('succeeded');
  });

  it('names a program missing from PATH before starting anything', async () => {
    const error = await runStep({
      ...base(),
      command: 'no-such-tool-xyz plan',
      onLine: () => {},
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepLaunchError);
    expect((error as StepLaunchError).code).toBe('not_found');
    expect((error as Error).message).toBe(
      "test step ./step.sh could not start: no-such-tool-xyz is not on the worker's PATH",
    );
  });
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
