// The sandbox started ahead, with the workspace (prestart.ts): a step run in it
// gets exactly what a step whose sandbox is started at the step gets.

import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  prestartSandbox,
  type SandboxedStep,
  takeWarmSandbox,
  warmSandbox,
} from '../src/core/executors/prestart.ts';
import { runStep } from '../src/core/executors/process.ts';
import { type StepSandbox, sandboxStatus } from '../src/core/executors/sandbox.ts';

let base: string;
let sandbox: StepSandbox;

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-prestart-'));
  const root = path.join(base, 'data', 'workspaces', 'run-1-apply');
  mkdirSync(path.join(root, 'src'), { recursive: true });
  mkdirSync(path.join(base, 'data', 'state', 'web'), { recursive: true });
  sandbox = {
    workspaceRoot: root,
    stateDir: path.join(base, 'data', 'state', 'web'),
    dataDir: path.join(base, 'data'),
    config: { network: true, services: false, paths: [] },
  };
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

async function stepOutput(box: SandboxedStep, env: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  const result = await runStep({
    label: 'apply step',
    // Arguments a shell would mangle if they were not quoted right.
    command: [
      '/bin/sh',
      '-c',
      'env | sort; pwd; printf "<%s>" "$@"',
      'sh',
      "it's",
      'a b',
      '$HOME',
      '',
    ],
    cwd: path.join(box.workspaceRoot, 'src'),
    env,
    timeoutMs: 10_000,
    onLine: (_stream, line) => lines.push(line),
    onStart: () => {},
    sandbox: box,
  });
  expect(result.outcome).toBe('succeeded');
  return lines.join('\n');
}

describe.runIf(sandboxStatus().active)('a sandbox started with the workspace', () => {
  it('runs the step with the same environment, directory and arguments as one started at the step', async () => {
    const env = {
      PATH: '/usr/bin:/bin',
      DEPLOY_RUN_ID: 'run-1',
      DEPLOY_VAR_quote: `it's "quoted" $HOME \`x\` \\ end`,
      DEPLOY_VAR_lines: 'one\ntwo\n',
      DEPLOY_PHASE: 'execute',
    };
    const atStep = await stepOutput(sandbox, env);
    // Started with what the engine expects the step to have: a value that
    // changes, one the executor adds, one it leaves out.
    const prestarted = prestartSandbox(sandbox, {
      PATH: '/usr/bin:/bin',
      DEPLOY_RUN_ID: 'run-0',
      DEPLOY_VAR_quote: env.DEPLOY_VAR_quote,
      DEPLOY_VAR_lines: env.DEPLOY_VAR_lines,
      DEPLOY_GONE: 'x',
    });
    expect(prestarted).not.toBeNull();
    const ahead = await stepOutput({ ...sandbox, prestarted }, env);
    expect(prestarted?.adopted).toBe(true);
    expect(ahead).toBe(atStep);
    expect(ahead).toContain(`DEPLOY_VAR_quote=${env.DEPLOY_VAR_quote}`);
    expect(ahead).not.toContain('DEPLOY_GONE');
    expect(ahead).not.toContain('OLDPWD');
    expect(ahead).toContain(`<it's><a b><$HOME><>`);
  });

  it('never runs anything when it is not taken: cancelled, it ends', async () => {
    const prestarted = prestartSandbox(sandbox, { PATH: '/usr/bin:/bin' });
    prestarted?.cancel();
    // A step that comes later starts its own sandbox.
    const out = await stepOutput({ ...sandbox, prestarted }, { PATH: '/usr/bin:/bin' });
    expect(prestarted?.adopted).toBe(false);
    expect(out).toContain('<a b>');
  });

  it('one started after a step waits for the next step of the same deployment, in its own empty root', async () => {
    const shape = { stateDir: sandbox.stateDir, dataDir: sandbox.dataDir, config: sandbox.config };
    const pathEnv = { PATH: '/usr/bin:/bin' };
    await warmSandbox(shape, pathEnv);
    // Another deployment (another state directory) does not get it.
    expect(
      takeWarmSandbox(
        { ...shape, stateDir: path.join(sandbox.dataDir, 'state', 'other') },
        pathEnv,
      ),
    ).toBeNull();
    const ahead = takeWarmSandbox(shape, pathEnv);
    expect(ahead).not.toBeNull();
    expect(takeWarmSandbox(shape, pathEnv)).toBeNull();
    if (!ahead) return;
    expect(path.dirname(ahead.root)).toBe(path.join(sandbox.dataDir, 'workspaces'));
    expect(readdirSync(ahead.root)).toEqual([]);
    mkdirSync(path.join(ahead.root, 'src'));
    const env = { PATH: '/usr/bin:/bin', DEPLOY_RUN_ID: 'run-2', DEPLOY_VAR_x: "a'b" };
    const box = { ...sandbox, workspaceRoot: ahead.root };
    const atStep = await stepOutput(box, env);
    const taken = await stepOutput({ ...box, prestarted: ahead.sandbox }, env);
    expect(ahead.sandbox.adopted).toBe(true);
    expect(taken).toBe(atStep);
    rmSync(ahead.root, { recursive: true, force: true });
  });
});
