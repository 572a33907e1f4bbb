// A run's workspace: a fresh copy of the deployment's source for each step,
// the plan's artifacts, and the files a step hands back (plan, outputs).
// Every step starts from a clean copy, so any worker can run any step.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SourceSummary } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import type { PrestartedSandbox, WarmSandbox } from '../executors/prestart.ts';
import { isDataDirectory, type SourceExclusion, sourceExclusion } from './source-exclusion.ts';

const execFileAsync = promisify(execFile);

/** A failure of the detect phase whose message says what to fix. */
export class DetectError extends Error {
  override readonly name = 'DetectError';
  readonly hint: string;

  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

export type Workspace = {
  readonly root: string;
  /** Where steps run: the checkout (and its base directory). */
  readonly srcDir: string;
  readonly artifactDir: string;
  readonly planFile: string;
  readonly outputsFile: string;
  readonly stateDir: string;
  readonly source: SourceSummary;
  /** Identifies the exact source content: commit for git, content digest for a directory. */
  readonly sourceDigest: string;
  /** The step's sandbox, started as soon as the root existed (null: steps run without one). */
  readonly prestarted: PrestartedSandbox | null;
  dispose(): Promise<void>;
};

/** Where a workspace's parts are, known before its source is there. */
export type WorkspacePaths = Pick<
  Workspace,
  'root' | 'artifactDir' | 'planFile' | 'outputsFile' | 'stateDir'
>;

export type Artifact = { readonly path: string; readonly mode: number; readonly content: Buffer };

const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === '.git') continue;
      out.push(...(await walk(full, base)));
    } else if (entry.isFile()) {
      out.push(path.relative(base, full));
    }
  }
  return out.sort();
}

/**
 * A symlink in the source may point only inside it (by a relative path): one
 * pointing elsewhere would make a step read or run what the approval never
 * covered. Returns the refusal, or null.
 */
function linkEscape(relPath: string, target: string): DetectError | null {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(relPath), target));
  if (!path.posix.isAbsolute(target) && resolved !== '..' && !resolved.startsWith('../'))
    return null;
  return new DetectError(
    `the source's symlink ${relPath} points outside the source (${target}); nothing was run`,
    `replace ${relPath} with the file it points to, or with a relative link inside the source: what a plan is approved for must all be in the source`,
  );
}

/**
 * Copies a source directory (symlinks as links, timestamps kept; what
 * `exclusion` leaves out and deploy-bot data directories are neither copied
 * nor digested) and returns the digest of everything else in it: each regular
 * file's relative path, executable bit, length and content, and each symlink's
 * path and target text, in the order of the sorted paths. Nested `.git`
 * directories are content like any other. A symlink that points outside the
 * source is refused.
 */
async function copyAndDigest(
  from: string,
  to: string,
  exclusion: SourceExclusion,
): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (dir: string, dest: string, rel: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    // Sorting by name, with "/" after a directory's name, visits files in the
    // order of their sorted relative paths.
    const key = (e: (typeof entries)[number]) => (e.isDirectory() ? `${e.name}/` : e.name);
    entries.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    for (const entry of entries) {
      const src = path.join(dir, entry.name);
      const dst = path.join(dest, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (exclusion.excludes(relPath)) continue;
      if (entry.isDirectory()) {
        if (isDataDirectory(new Set(await readdir(src)))) continue;
        const st = await stat(src);
        await mkdir(dst);
        await chmod(dst, st.mode & 0o7777);
        await visit(src, dst, relPath);
      } else if (entry.isSymbolicLink()) {
        const target = await readlink(src);
        const outside = linkEscape(relPath, target);
        if (outside) throw outside;
        await symlink(target, dst);
        hash.update(`${relPath}\0link\0${target}\0`);
      } else if (entry.isFile()) {
        // The digest is of the bytes written to the copy, which the steps see.
        const [st, content] = await Promise.all([stat(src), readFile(src)]);
        await writeFile(dst, content);
        await chmod(dst, st.mode & 0o7777);
        await utimes(dst, st.atime, st.mtime);
        hash.update(`${relPath}\0${st.mode & 0o111 ? 'x' : '-'}\0${content.length}\0`);
        hash.update(content);
      }
    }
  };
  await mkdir(to);
  await visit(from, to, '');
  return `sha256:${hash.digest('hex')}`;
}

/** A git checkout: its commit pins the content; its links must stay inside it too. */
async function refuseEscapingLinks(root: string, dir = root): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      // The checkout's own .git (pinned by the commit) is not content.
      if (dir === root && entry.name === '.git') continue;
      await refuseEscapingLinks(root, full);
    } else if (entry.isSymbolicLink()) {
      const outside = linkEscape(path.relative(root, full), await readlink(full));
      if (outside) throw outside;
    }
  }
}

async function git(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

function gitMessage(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr ?? '';
  const line = stderr
    .split('\n')
    .map((l) => l.replace(/^(fatal|error): /, '').trim())
    .find((l) => l.length > 0);
  return line ?? (error as Error).message;
}

async function checkoutGit(
  source: Extract<Deployment['source'], { kind: 'git-repository' }>,
  dest: string,
  pinnedCommit: string | null,
): Promise<{ commit: string; srcDir: string }> {
  const url = source.url;
  try {
    await git(['clone', '--quiet', '--no-checkout', url, dest]);
  } catch (error) {
    throw new DetectError(
      `cannot read the git repository ${url}: ${gitMessage(error)}`,
      `check the deployment's source.url (${url}) and that this worker can reach it and has access`,
    );
  }
  let commit = pinnedCommit;
  if (commit === null) {
    const candidates = [`refs/remotes/origin/${source.ref}`, `refs/tags/${source.ref}`, source.ref];
    for (const candidate of candidates) {
      try {
        commit = await git(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`], dest);
        if (commit) break;
      } catch {
        commit = null;
      }
    }
    if (!commit) {
      throw new DetectError(
        `git ref '${source.ref}' does not exist in ${url}`,
        `git ref '${source.ref}' does not exist in ${url}: check the ref, or the deployment's source.ref`,
      );
    }
  }
  try {
    await git(['checkout', '--quiet', '--detach', commit], dest);
  } catch (error) {
    throw new DetectError(
      `commit ${commit} of ${url} cannot be checked out: ${gitMessage(error)}`,
      `the planned commit ${commit.slice(0, 12)} is gone from ${url} (force-pushed?): run the deployment again to plan the current ref`,
    );
  }
  await refuseEscapingLinks(dest);
  const srcDir = path.resolve(dest, source.baseDirectory);
  if (!srcDir.startsWith(dest)) {
    throw new DetectError(
      `source.baseDirectory '${source.baseDirectory}' points outside the repository`,
      "set the deployment's source.baseDirectory to a directory inside the repository",
    );
  }
  const st = await stat(srcDir).catch(() => null);
  if (!st?.isDirectory()) {
    throw new DetectError(
      `base directory '${source.baseDirectory}' does not exist at ${source.ref} (${commit.slice(0, 12)}) in ${url}`,
      `check the deployment's source.baseDirectory ('${source.baseDirectory}') against the repository at ${source.ref}`,
    );
  }
  return { commit, srcDir };
}

export type WorkspaceRequest = {
  readonly dataDir: string;
  readonly runId: string;
  /** Distinguishes the workspaces of one run's steps. */
  readonly step: string;
  readonly deployment: Deployment;
  /** For steps after plan: the commit the plan used. */
  readonly pinnedCommit: string | null;
  /**
   * Starts the step's sandbox once the root and state directories exist, so
   * that its set-up overlaps the source copy (the step runs only when let go).
   */
  readonly prestart?: ((paths: WorkspacePaths) => PrestartedSandbox | null) | undefined;
  /** A sandbox already waiting, with its own empty root: the workspace is made there. */
  readonly ahead?: (() => WarmSandbox | null) | undefined;
};

/** A deployment's own state directory. */
export function stateDirOf(dataDir: string, deployment: string): string {
  return path.join(dataDir, 'state', deployment);
}

export async function prepareWorkspace(request: WorkspaceRequest): Promise<Workspace> {
  const { deployment } = request;
  const ahead = request.ahead?.() ?? null;
  const root =
    ahead?.root ??
    path.join(request.dataDir, 'workspaces', `${request.runId}-${request.step}-${process.pid}`);
  // A waiting sandbox's root is its own, made empty for it (and bound into it).
  if (!ahead) await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const checkout = path.join(root, 'src');
  const artifactDir = path.join(root, 'artifacts');
  const stateDir = stateDirOf(request.dataDir, deployment.name);
  await Promise.all([mkdir(artifactDir), mkdir(stateDir, { recursive: true })]);
  const planFile = path.join(root, 'plan.json');
  const outputsFile = path.join(root, 'outputs.json');
  const prestarted =
    ahead?.sandbox ??
    request.prestart?.({ root, artifactDir, planFile, outputsFile, stateDir }) ??
    null;
  const dispose = () => {
    prestarted?.cancel();
    return rm(root, { recursive: true, force: true });
  };

  try {
    let srcDir: string;
    let source: SourceSummary;
    let sourceDigest: string;
    const spec = deployment.source;
    if (spec.kind === 'directory') {
      const from = path.resolve(deployment.baseDir, spec.path);
      const st = await stat(from).catch(() => null);
      if (!st?.isDirectory()) {
        throw new DetectError(
          `source directory ${from} does not exist`,
          `check the deployment's source.path ('${spec.path}', relative to the config file's directory ${deployment.baseDir})`,
        );
      }
      sourceDigest = await copyAndDigest(
        from,
        checkout,
        sourceExclusion({ sourceDir: from, dataDir: request.dataDir, patterns: spec.exclude }),
      );
      srcDir = checkout;
      source = {
        kind: 'directory',
        gitRef: null,
        commit: null,
        baseDirectory: null,
        location: from,
      };
    } else {
      const { commit, srcDir: dir } = await checkoutGit(spec, checkout, request.pinnedCommit);
      srcDir = dir;
      sourceDigest = `git:${commit}`;
      source = {
        kind: 'git-repository',
        gitRef: spec.ref,
        commit,
        baseDirectory: spec.baseDirectory,
        location: spec.url,
      };
    }
    return {
      root,
      srcDir,
      artifactDir,
      planFile,
      outputsFile,
      stateDir,
      source,
      sourceDigest,
      prestarted,
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Reads what the plan step left in the artifact directory. */
export async function collectArtifacts(dir: string): Promise<Artifact[]> {
  const artifacts: Artifact[] = [];
  let total = 0;
  for (const rel of await walk(dir)) {
    const full = path.join(dir, rel);
    const [content, st] = await Promise.all([readFile(full), stat(full)]);
    total += content.length;
    if (total > MAX_ARTIFACT_BYTES) {
      throw new Error(
        `the plan step left more than ${MAX_ARTIFACT_BYTES / 1024 / 1024} MB in DEPLOY_ARTIFACT_DIR; keep only what apply needs there`,
      );
    }
    artifacts.push({ path: rel, mode: st.mode & 0o777, content });
  }
  return artifacts;
}

export async function restoreArtifacts(dir: string, artifacts: readonly Artifact[]): Promise<void> {
  for (const artifact of artifacts) {
    const full = path.resolve(dir, artifact.path);
    if (!full.startsWith(dir + path.sep))
      throw new Error(`artifact path ${artifact.path} escapes the workspace`);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, artifact.content);
    await chmod(full, artifact.mode);
  }
}

export async function readJsonFile(
  file: string,
): Promise<{ found: false } | { found: true; text: string }> {
  try {
    return { found: true, text: await readFile(file, 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { found: false };
    throw error;
  }
}
