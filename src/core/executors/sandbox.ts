// The sandbox a step runs in: bubblewrap (bwrap), with its own mount and PID
// namespaces in which only the run's workspace (read-write), the deployment's
// state directory (read-write), read-only system directories, the tools on
// PATH and the paths the deployment declares exist. When deploy-bot runs as
// root, the step also runs as an unprivileged system user.

import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { lchown, lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SandboxConfig } from '../config/schema.ts';
import { StepLaunchError } from './launch-error.ts';

export type SandboxMode = 'auto' | 'required' | 'off';

export const STEP_USER_DEFAULT = 'deploy-step';

const modeSchema = z.enum(['auto', 'required', 'off']);

/** DEPLOY_STEP_SANDBOX, validated: a wrong value says what is allowed. */
export function sandboxMode(env: NodeJS.ProcessEnv = process.env): SandboxMode {
  const raw = env.DEPLOY_STEP_SANDBOX?.trim() || 'auto';
  const parsed = modeSchema.safeParse(raw);
  if (!parsed.success)
    throw new StepLaunchError(
      `DEPLOY_STEP_SANDBOX=${raw} is not one of auto, required, off; set it to one of those`,
    );
  return parsed.data;
}

function onPath(program: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const file = path.join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

export type SandboxStatus = {
  readonly mode: SandboxMode;
  /** Whether steps run in bubblewrap. */
  readonly active: boolean;
  readonly bwrap: string | null;
  /** The user steps run as (root only), or null: the server's own user. */
  readonly user: string | null;
  /** What an operator should know (bubblewrap missing or not working). */
  readonly warning: string | null;
};

let cachedStatus: { key: string; status: SandboxStatus } | null = null;

const INSTALL_HINT = 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)';

/** Whether and how steps are sandboxed in this process; probed once. */
export function sandboxStatus(env: NodeJS.ProcessEnv = process.env): SandboxStatus {
  const mode = sandboxMode(env);
  const key = `${mode}:${env.DEPLOY_STEP_USER ?? ''}:${env.PATH ?? ''}`;
  if (cachedStatus?.key === key) return cachedStatus.status;
  const root = process.getuid?.() === 0;
  const wantedUser = root ? env.DEPLOY_STEP_USER?.trim() || STEP_USER_DEFAULT : null;
  let status: SandboxStatus;
  if (mode === 'off') {
    status = {
      mode,
      active: false,
      bwrap: null,
      user: null,
      warning:
        'DEPLOY_STEP_SANDBOX=off: steps run without a sandbox and can read what the server can',
    };
  } else {
    const bwrap = onPath('bwrap', env);
    let problem: string | null = bwrap ? null : 'bubblewrap (bwrap) is not installed';
    if (bwrap) {
      try {
        // Namespaces can be unavailable (a container without user namespaces).
        execFileSync(bwrap, ['--unshare-pid', '--ro-bind', '/', '/', '--proc', '/proc', 'true'], {
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 10_000,
        });
      } catch (error) {
        const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
        problem = `bubblewrap (${bwrap}) cannot create a sandbox here: ${stderr || (error as Error).message}`;
      }
    }
    status = {
      mode,
      active: problem === null,
      bwrap: problem === null ? bwrap : null,
      user: problem === null ? wantedUser : null,
      warning:
        problem === null
          ? null
          : mode === 'required'
            ? `${problem}; DEPLOY_STEP_SANDBOX=required: steps will not run until you ${INSTALL_HINT}`
            : `${problem}: steps run WITHOUT a sandbox and can read what the server can; ${INSTALL_HINT}, or set DEPLOY_STEP_SANDBOX=off to say this is intended`,
    };
  }
  cachedStatus = { key, status };
  return status;
}

/** One line for people: how steps run on this machine. */
export function describeSandbox(status: SandboxStatus): string {
  if (!status.active)
    return `steps: NOT sandboxed (DEPLOY_STEP_SANDBOX=${status.mode}${status.mode === 'off' ? '' : ', bubblewrap unavailable'})`;
  return `steps: sandboxed in bubblewrap (${status.bwrap})${status.user ? `, as the user ${status.user}` : ''} (DEPLOY_STEP_SANDBOX=${status.mode})`;
}

type Ids = { readonly uid: number; readonly gid: number; readonly name: string };
const users = new Map<string, Ids>();

function lookupUser(name: string): Ids | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid, name };
  } catch {
    return null;
  }
}

/**
 * As root: the unprivileged user steps run as. The default one is a system
 * user deploy-bot creates when missing (as for PostgreSQL); one named by
 * DEPLOY_STEP_USER must exist.
 */
export function stepUser(name: string): Ids {
  const known = users.get(name);
  if (known) return known;
  let ids = lookupUser(name);
  if (!ids && name === STEP_USER_DEFAULT) {
    try {
      execFileSync(
        'useradd',
        [
          '--system',
          '--user-group',
          '--no-create-home',
          '--home-dir',
          '/nonexistent',
          '--shell',
          '/usr/sbin/nologin',
          name,
        ],
        { stdio: 'ignore' },
      );
    } catch {
      // Another process may have created it at this instant: looked up below.
    }
    ids = lookupUser(name);
  }
  if (!ids)
    throw new StepLaunchError(
      `steps run as the user ${name} (DEPLOY_STEP_USER), which does not exist: create it, or unset DEPLOY_STEP_USER to use ${STEP_USER_DEFAULT}`,
    );
  if (ids.uid === 0)
    throw new StepLaunchError(
      `DEPLOY_STEP_USER=${name} is root: name an unprivileged user for the steps`,
    );
  users.set(name, ids);
  return ids;
}

/** What a step's sandbox is made of. */
export type StepSandbox = {
  /** The run's workspace (read-write): the source copy, artifacts, plan and outputs files. */
  readonly workspaceRoot: string;
  /** The deployment's own state directory (read-write). */
  readonly stateDir: string;
  /** deploy-bot's data directory: never inside the sandbox, nor any directory holding it. */
  readonly dataDir: string;
  readonly config: SandboxConfig;
};

export type SandboxedLaunch = {
  /** The command put before the step's gate and program. */
  readonly prefix: readonly string[];
  readonly env: Record<string, string>;
};

const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

/** Builds bwrap's arguments: binds in order, parent directories made traversable. */
class MountPlan {
  readonly args: string[] = [];
  private readonly dirs = new Set<string>(['/']);
  private readonly bound: string[] = [];

  covered(dir: string): boolean {
    return this.bound.some((b) => inside(dir, b));
  }

  private parents(target: string) {
    const parts = target.split('/').filter(Boolean);
    let current = '';
    for (const part of parts.slice(0, -1)) {
      current += `/${part}`;
      if (this.dirs.has(current) || this.covered(current)) continue;
      // Directories bwrap creates copy nothing of the host's: 0755 lets the step user reach its binds.
      this.args.push('--perms', '0755', '--dir', current);
      this.dirs.add(current);
    }
  }

  bind(kind: '--ro-bind' | '--bind', source: string, target = source) {
    this.parents(target);
    this.args.push(kind, source, target);
    this.bound.push(target);
    this.dirs.add(target);
  }

  /** Directories the sandbox has already (a tmpfs, /dev, /proc), empty of the host's files. */
  made(...dirs: string[]) {
    for (const dir of dirs) this.dirs.add(dir);
  }

  symlink(text: string, at: string) {
    this.args.push('--symlink', text, at);
    this.dirs.add(at);
  }
}

/** The bwrap command line (and environment) a step's gate and program run under. */
export function sandboxLaunch(
  status: SandboxStatus,
  sandbox: StepSandbox,
  env: Readonly<Record<string, string>>,
  cwd: string,
  /** The step's program (resolved): an executor binary outside the workspace is bound read-only. */
  program: string,
): SandboxedLaunch {
  const bwrap = status.bwrap;
  if (!bwrap) throw new Error('sandboxLaunch without bubblewrap');
  const dataDir = path.resolve(sandbox.dataDir);
  const services = sandbox.config.services;
  const args: string[] = [bwrap];
  // A long-lived service must outlive the step: a declared `services` deployment
  // shares the machine's process ids (and gets no /proc at all) instead.
  // Only what the sandbox needs: every namespace created costs time at each step.
  if (!services) args.push('--unshare-pid', '--die-with-parent');
  if (!sandbox.config.network) args.push('--unshare-net');
  const mounts = new MountPlan();
  for (const dir of SYSTEM_DIRS) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) mounts.symlink(readlinkSync(dir), dir);
    else if (st.isDirectory()) mounts.bind('--ro-bind', dir, dir);
  }
  // /etc/resolv.conf may point into /run (systemd-resolved): keep DNS working.
  try {
    const resolv = realpathSync('/etc/resolv.conf');
    if (!mounts.covered(resolv)) mounts.bind('--ro-bind', resolv, resolv);
  } catch {
    // no resolver configuration
  }
  args.push(...mounts.args.splice(0));
  args.push('--dev', '/dev', '--tmpfs', '/tmp');
  mounts.made('/dev', '/tmp');
  if (!services) {
    args.push('--proc', '/proc');
    mounts.made('/proc');
  }
  // The tools on PATH and the Node.js that runs deploy-bot, read-only; never
  // the data directory or a directory that holds it.
  const toolDirs = [path.dirname(path.dirname(realpathSync(process.execPath)))];
  for (const dir of (env.PATH ?? '').split(':')) if (path.isAbsolute(dir)) toolDirs.push(dir);
  for (const dir of toolDirs) {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      continue;
    }
    if (inside(real, dataDir) || inside(dataDir, real) || mounts.covered(real)) continue;
    if (!existsSync(real)) continue;
    mounts.bind('--ro-bind', real, real);
    if (dir !== real && !mounts.covered(dir)) mounts.bind('--ro-bind', real, path.resolve(dir));
  }
  for (const declared of sandbox.config.paths) {
    const target = path.resolve(declared.path);
    if (inside(target, dataDir) || inside(dataDir, target))
      throw new StepLaunchError(
        `sandbox.paths: ${declared.path} ${inside(target, dataDir) ? 'is inside' : 'holds'} deploy-bot's data directory (${dataDir}); steps never see it: declare another path`,
      );
    if (!existsSync(target))
      throw new StepLaunchError(
        `sandbox.paths: ${declared.path} does not exist on this worker: create it, or remove it from the deployment's sandbox.paths`,
      );
    mounts.bind(declared.access === 'rw' ? '--bind' : '--ro-bind', target, target);
  }
  let realProgram = program;
  try {
    realProgram = realpathSync(program);
  } catch {
    // resolved already; a missing program fails at its start
  }
  if (
    !inside(program, sandbox.workspaceRoot) &&
    !mounts.covered(realProgram) &&
    !inside(realProgram, dataDir)
  )
    mounts.bind('--ro-bind', program, program);
  mounts.bind('--bind', sandbox.workspaceRoot, sandbox.workspaceRoot);
  mounts.bind('--bind', sandbox.stateDir, sandbox.stateDir);
  args.push(...mounts.args, '--chdir', cwd);
  const stepEnv: Record<string, string> = { ...env, HOME: '/tmp', TMPDIR: '/tmp' };
  if (status.user) {
    const ids = stepUser(status.user);
    stepEnv.USER = ids.name;
    stepEnv.LOGNAME = ids.name;
    // bwrap (as root) builds the namespaces; setpriv then drops to the step user
    // for good: every id, supplementary groups and capabilities.
    args.push(
      '--cap-add',
      'CAP_SETUID,CAP_SETGID',
      '--',
      onPath('setpriv') ?? '/usr/bin/setpriv',
      `--reuid=${ids.uid}`,
      `--regid=${ids.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
    );
  } else {
    args.push('--');
  }
  return { prefix: args, env: stepEnv };
}

/** Hands the workspace (and the state directory) to the step user. */
export async function grantToStepUser(sandbox: StepSandbox, status: SandboxStatus): Promise<void> {
  if (!status.user) return;
  const { uid, gid } = stepUser(status.user);
  const walk = async (dir: string): Promise<void> => {
    await lchown(dir, uid, gid);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else await lchown(full, uid, gid);
    }
  };
  await walk(sandbox.workspaceRoot);
  const state = await lstat(sandbox.stateDir);
  // State files made before steps ran as the step user are handed over once.
  if (state.uid !== uid) await walk(sandbox.stateDir);
}
