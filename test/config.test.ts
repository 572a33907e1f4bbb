import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOT_ENV_NAMES, readBotSettings } from '../src/bot/config.ts';
import { parseDuration } from '../src/core/config/duration.ts';
import { loadConfig, parseConfig } from '../src/core/config/load.ts';
import { defaultStepEnv } from '../src/core/engine/worker.ts';
import { ConfigError } from '../src/core/errors.ts';
import { CORE_ENV_NAMES, readSettings } from '../src/core/settings.ts';

const deployment = (name: string, extra = '') => `
  - name: ${name}
    approvers: [U0APPROVER1]
    source: { kind: directory, path: ./x }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }${extra}`;

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/etc/deploy/deploy.config.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('config loading', () => {
  it('loads the documented shape with defaults', () => {
    const config = parseConfig(
      `deployments:
  - name: web-prod
    environment: production
    description: Public web tier
    approvers: [U0APPROVER1, S0OPSGROUP]
    allowSelfApproval: false
    approvalTimeout: 1h
    channels: [C0DEPLOYS]
    source:
      kind: directory
      path: ./infra/web
    variables:
      image_tag: { type: string, required: true, pattern: "^[a-z0-9._-]+$" }
      replicas:  { type: number, default: 2 }
      canary:    { type: boolean, default: false }
      size:      { type: select, options: [small, large], default: small }
      api_key:   { type: string, sensitive: true }
    executor:
      kind: script
      plan: ./plan.sh
      apply: ./apply.sh
      destroyPlan: ./plan-destroy.sh
      destroy: ./destroy.sh
      rollback: ./rollback.sh
      timeout: 10m
    verify:
      http: { url: "http://127.0.0.1:8080/healthz", expectStatus: 200, timeout: 30s, retries: 5, interval: 2s }
      command: ./smoke-test.sh
  - name: infra
    approvers: [U0APPROVER1]
    source: { kind: git-repository, url: "https://example.com/infra.git", ref: main, baseDirectory: envs/prod }
    executor: { kind: terraform, binary: tofu }
`,
      '/srv/deploy/deploy.config.yaml',
    );
    const web = config.deployments.get('web-prod')!;
    expect(web.approvalTimeout).toBe(3_600_000);
    expect(web.executor).toMatchObject({ kind: 'script', timeout: 600_000 });
    expect(web.verify?.http).toMatchObject({ timeout: 30_000, retries: 5, interval: 2000 });
    expect(web.baseDir).toBe('/srv/deploy');
    const infra = config.deployments.get('infra')!;
    expect(infra.environment).toBe('default');
    expect(infra.executor).toMatchObject({ kind: 'terraform', binary: 'tofu' });
  });

  it('names the file, the path inside it and what is wrong', () => {
    const problems = problemsOf(`deployments:${deployment('a')}${deployment('b')}${deployment(
      'c',
      `
    variables:
      replicas: { type: integer, default: 2 }`,
    )}
`);
    expect(problems).toEqual([
      'deploy.config.yaml: deployments[2].variables.replicas.type: expected one of string, number, boolean, select',
    ]);
  });

  it('reports every problem at once, and never half-loads', () => {
    const problems = problemsOf(`deployments:
  - name: Web Prod
    approvers: []
    source: { kind: svn, path: ./x }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: soon }
    verify: {}
    colour: blue
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^deploy\.config\.yaml: deployments\[0\]\.name: lowercase letters/),
        'deploy.config.yaml: deployments[0].approvers: at least one approver is needed',
        'deploy.config.yaml: deployments[0].source.kind: expected kind: directory or kind: git-repository',
        'deploy.config.yaml: deployments[0].executor.timeout: timeout: expected a duration like 30s, 10m or 1h, got "soon"',
        'deploy.config.yaml: deployments[0].verify: verify needs http, command, or both',
        expect.stringMatching(
          /^deploy\.config\.yaml: deployments\[0\]: Unrecognized key: "colour"/,
        ),
      ]),
    );
    expect(problemsOf(`deployments:${deployment('dup')}${deployment('dup')}\n`)).toEqual([
      'deploy.config.yaml: deployments[1].name: duplicate name "dup" (also deployments[0])',
    ]);
  });

  it('explains YAML syntax errors with a line number', () => {
    const problems = problemsOf('deployments:\n  - name: a\n   approvers: [U1\n');
    expect(problems[0]).toMatch(/^deploy\.config\.yaml:\d+:\d+ /);
  });

  it('says what to do when the file is missing', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    expect(() => loadConfig(path.join(dir, 'nope.yaml'))).toThrow(
      /no such file\. Set DEPLOY_CONFIG/,
    );
    writeFileSync(path.join(dir, 'empty.yaml'), '');
    expect(() => loadConfig(path.join(dir, 'empty.yaml'))).toThrow(/deployments: /);
  });

  it('refuses a select default outside its options and a bad pattern', () => {
    const problems = problemsOf(`deployments:${deployment(
      'a',
      `
    variables:
      size: { type: select, options: [small, large], default: huge }
      tag: { type: string, pattern: "([" }`,
    )}
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'deploy.config.yaml: deployments[0].variables.size.default: default "huge" is not one of small, large',
        'deploy.config.yaml: deployments[0].variables.tag.pattern: not a valid regular expression',
      ]),
    );
  });

  it('parses durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration(30)).toBe(30_000);
    expect(parseDuration('ten')).toBeNull();
  });

  it('ships an example config that loads', () => {
    const config = loadConfig(path.resolve(import.meta.dirname, '../examples/deploy.config.yaml'));
    expect([...config.deployments.keys()]).toEqual(['hello-web', 'notes']);
  });
});

describe('the environment of deploy-bot itself', () => {
  it('an empty or blank value of any of its own variables means the default, as if not set', () => {
    expect(CORE_ENV_NAMES).toContain('DATABASE_URL');
    expect(BOT_ENV_NAMES).toContain('DEPLOY_BOT_WORK_NICE');
    for (const blank of ['', '  ']) {
      for (const name of CORE_ENV_NAMES) {
        expect(readSettings({ [name]: blank }), `${name}=${JSON.stringify(blank)}`).toEqual(
          readSettings({}),
        );
      }
      for (const name of BOT_ENV_NAMES) {
        expect(readBotSettings({ [name]: blank }), `${name}=${JSON.stringify(blank)}`).toEqual(
          readBotSettings({}),
        );
      }
      const allBlank = Object.fromEntries(
        [...CORE_ENV_NAMES, ...BOT_ENV_NAMES].map((name) => [name, blank]),
      );
      expect(readSettings(allBlank)).toEqual(readSettings({}));
      expect(readBotSettings(allBlank)).toEqual(readBotSettings({}));
      expect(defaultStepEnv({ PATH: '/bin', DEPLOY_STEP_ENV: blank })).toEqual({ PATH: '/bin' });
    }
    // A value that is set is still checked.
    expect(() => readSettings({ DATABASE_URL: 'not a url' })).toThrow(ConfigError);
  });
});
