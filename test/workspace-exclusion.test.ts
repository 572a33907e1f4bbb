// A source directory that holds deploy-bot's data directory (the infra
// repository's root, the default ./.deploy-bot) never copies it into a
// workspace nor digests it; nor any other deploy-bot data directory; nor what
// `source.exclude` names.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config/load.ts';
import { prepareWorkspace } from '../src/core/engine/workspace.ts';
import { ConfigError } from '../src/core/errors.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-exclude-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(rel: string, content = 'x') {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function deployment(source: string) {
  const config = parseConfig(
    `
deployments:
  - name: infra
    approvers: [U0APPROVER]
    source: ${source}
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }
`,
    path.join(dir, 'deploy.config.yaml'),
  );
  return config.deployments.get('infra')!;
}

async function workspace(dataDir: string, source: string, step = 'plan') {
  return prepareWorkspace({
    dataDir,
    runId: 'run-test000001',
    step,
    deployment: deployment(source),
    pinnedCommit: null,
  });
}

describe('what a directory source leaves out', () => {
  it('the data directory inside the source (source path ".", data in ./.deploy-bot) is neither copied nor digested', async () => {
    write('main.tf', 'resource "x" "y" {}');
    write('plan.sh', 'echo plan');
    const dataDir = path.join(dir, '.deploy-bot');
    write('.deploy-bot/postgres.json', '{"password":"pg-secret"}');
    write('.deploy-bot/postgres/PG_VERSION', '17');
    const ws = await workspace(dataDir, '{ kind: directory, path: . }');
    try {
      expect(existsSync(path.join(ws.srcDir, 'main.tf'))).toBe(true);
      expect(existsSync(path.join(ws.srcDir, '.deploy-bot'))).toBe(false);
      // The data directory changing (a new workspace, the database) leaves the digest alone.
      write('.deploy-bot/postgres/base/1', 'more data');
      const again = await workspace(dataDir, '{ kind: directory, path: . }', 'apply');
      expect(again.sourceDigest).toBe(ws.sourceDigest);
      await again.dispose();
    } finally {
      await ws.dispose();
    }
  });

  it('another deploy-bot data directory and source.exclude globs are left out of the copy and the digest', async () => {
    write('main.tf', 'resource "x" "y" {}');
    write('modules/net/main.tf', 'module');
    write('old/.deploy-bot/postgres.json', '{"password":"old-secret"}');
    write('old/.deploy-bot/postgres/PG_VERSION', '17');
    write('other-data/workspaces/run-x/src/a', 'a');
    write('other-data/state/web/s', 's');
    write('node_modules/left-pad/index.js', 'module.exports = 1');
    write('modules/net/.terraform/providers/p', 'binary');
    write('build/cache/big.bin', 'cache');
    write('build/keep.txt', 'keep');
    const dataDir = path.join(os.tmpdir(), `deploy-bot-data-${path.basename(dir)}`);
    const source = '{ kind: directory, path: ., exclude: [node_modules, .terraform, build/cache] }';
    const ws = await workspace(dataDir, source);
    try {
      const has = (rel: string) => existsSync(path.join(ws.srcDir, rel));
      expect(has('main.tf')).toBe(true);
      expect(has('modules/net/main.tf')).toBe(true);
      expect(has('build/keep.txt')).toBe(true);
      expect(has('old/.deploy-bot')).toBe(false);
      expect(has('other-data')).toBe(false);
      expect(has('node_modules')).toBe(false);
      expect(has('modules/net/.terraform')).toBe(false);
      expect(has('build/cache')).toBe(false);
      // Excluded paths are outside the digest; anything else is in it.
      write('node_modules/left-pad/index.js', 'module.exports = 2');
      write('build/cache/big.bin', 'other cache');
      write('old/.deploy-bot/postgres/base/1', 'rows');
      const same = await workspace(dataDir, source, 'apply');
      expect(same.sourceDigest).toBe(ws.sourceDigest);
      await same.dispose();
      write('build/keep.txt', 'changed');
      const changed = await workspace(dataDir, source, 'verify');
      expect(changed.sourceDigest).not.toBe(ws.sourceDigest);
      await changed.dispose();
    } finally {
      await ws.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('source.exclude takes globs relative to the source, never outside it', () => {
    expect(() => deployment('{ kind: directory, path: ., exclude: [/etc] }')).toThrow(ConfigError);
    expect(() => deployment('{ kind: directory, path: ., exclude: [../x] }')).toThrow(
      /exclude\[0\]: expected a glob relative to the source directory/,
    );
    expect(deployment('{ kind: directory, path: . }').source).toMatchObject({ exclude: [] });
  });
});
