import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { boltLogger } from '../src/bot/log.ts';
import {
  configureProcessLog,
  createLog,
  type LogRecord,
  noteRun,
  readLogSettings,
  rememberSecrets,
  silentLog,
} from '../src/core/logs/logger.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const SECRET = 'hunter2-very-secret';

const CONFIG = `
deployments:
  - name: svc
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./svc }
    variables:
      api_key: { type: string, sensitive: true, default: "${SECRET}" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 5s }
`;
const FILES = {
  'svc/plan.sh': `echo '{"changes":[{"address":"a","action":"create"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'svc/apply.sh': 'echo "key is $DEPLOY_VAR_api_key"\n',
};

/** Runs `code` in a child Node process and returns its stdout lines. */
function child(code: string, env: Record<string, string>): string[] {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    cwd: process.cwd(),
  });
  expect(out.stderr).toBe('');
  return out.stdout.split('\n').filter((l) => l !== '');
}

const LOGGER = new URL('../src/core/logs/logger.ts', import.meta.url).href;

describe('settings', () => {
  it('LOG_LEVEL, with DEPLOY_BOT_LOG_LEVEL as its older name; LOG_FORMAT defaults by terminal', () => {
    expect(readLogSettings({}, false)).toEqual({ level: 'info', format: 'json' });
    expect(readLogSettings({}, true)).toEqual({ level: 'info', format: 'pretty' });
    expect(readLogSettings({ DEPLOY_BOT_LOG_LEVEL: 'warn' }, false).level).toBe('warn');
    expect(readLogSettings({ LOG_LEVEL: 'debug', DEPLOY_BOT_LOG_LEVEL: 'warn' }, false).level).toBe(
      'debug',
    );
    expect(readLogSettings({ LOG_FORMAT: 'pretty' }, false).format).toBe('pretty');
    expect(() => readLogSettings({ LOG_FORMAT: 'xml' }, false)).toThrow(
      'LOG_FORMAT must be one of json, pretty',
    );
    expect(() => readLogSettings({ LOG_LEVEL: 'loud' }, false)).toThrow(
      'LOG_LEVEL must be one of debug, info, warn, error, silent',
    );
  });
});

describe('lines', () => {
  it('JSON lines on stdout: time, level, msg and the fields; below the level nothing', () => {
    const lines = child(
      `import { createLog } from '${LOGGER}';
       const log = createLog({ level: 'info', format: 'json' }).child({ component: 'test' });
       log.debug('hidden');
       log.info('hello', { runId: 'run-1', n: 3 });
       log.error('broke', { error: new Error('boom') });`,
      {},
    );
    expect(lines).toHaveLength(2);
    const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toMatchObject({
      level: 'info',
      msg: 'hello',
      component: 'test',
      runId: 'run-1',
      n: 3,
    });
    expect(typeof a!.time).toBe('string');
    expect(b).toMatchObject({ level: 'error', msg: 'broke', error: { message: 'boom' } });
  });

  it('readable lines with LOG_FORMAT=pretty', () => {
    const lines = child(
      `import { createLog } from '${LOGGER}';
       createLog({ format: 'pretty' }).warn('slow Slack', { method: 'chat.update', retryInMs: 2000 });`,
      {},
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}slow Slack method=chat\.update retryInMs=2000$/,
    );
  });

  it('a line about a run carries its deployment, status and phase; credentials and bodies are never written', () => {
    const records: LogRecord[] = [];
    const log = createLog({ level: 'debug', sink: (r) => records.push(r) });
    noteRun({ id: 'run-x1', deployment: 'web-prod', status: 'applying' });
    log.info('posted', {
      runId: 'run-x1',
      token: 'xoxb-1234',
      headers: { authorization: 'Bearer abc', 'content-type': 'x' },
      body: 'payload=%7B%22token%22',
    });
    expect(records[0]).toMatchObject({
      runId: 'run-x1',
      deployment: 'web-prod',
      status: 'applying',
      phase: 'execute',
      token: '[not logged]',
      headers: { authorization: '[not logged]', 'content-type': 'x' },
      body: '[not logged]',
    });
    expect(JSON.stringify(records)).not.toMatch(/xoxb-1234|Bearer abc|payload=/);
  });

  it("masks a run's sensitive values while its step runs here, as run logs do", () => {
    const records: LogRecord[] = [];
    const log = createLog({ sink: (r) => records.push(r) });
    const forget = rememberSecrets([SECRET]);
    log.warn(`step said ${SECRET}`, {
      error: new Error(`bad key ${SECRET}`),
      nested: { v: SECRET },
    });
    forget();
    const text = JSON.stringify(records);
    expect(text).not.toContain(SECRET);
    expect(text).toContain('••••••');
  });

  it("never writes the Web API client's request bodies, headers or results", () => {
    const records: LogRecord[] = [];
    const bolt = boltLogger(createLog({ level: 'debug', sink: (r) => records.push(r) }));
    bolt.debug('http request body: {"token":"xoxb-1","text":"hi"}');
    bolt.debug('http request headers: {"Authorization":"[[REDACTED]]"}');
    bolt.debug("apiCall('chat.postMessage') start");
    expect(records.map((r) => r.msg)).toEqual(["apiCall('chat.postMessage') start"]);
  });
});

describe('the process log of a server', () => {
  let h: Harness;
  const written: string[] = [];
  beforeAll(async () => {
    h = await startHarness({ config: CONFIG, files: FILES });
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    configureProcessLog({ level: 'info', format: 'json' });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await h?.close();
  });

  it('each decision is a JSON line with runId, deployment, phase, actor and code; no sensitive value', async () => {
    const run = await h.core.requestRun({
      deployment: 'svc',
      variables: {},
      kind: 'execute',
      actor: REQUESTER,
    });
    const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
    await expect(h.core.approvePlan(run.id, REQUESTER)).rejects.toThrow();
    await h.core.approvePlan(run.id, APPROVER, { planId: planned.plan!.id });
    await h.core.confirmApply(run.id, APPROVER, { planId: planned.plan!.id });
    await h.waitFor(run.id, 'completed');
    await new Promise((r) => setTimeout(r, 100)); // info lines wait up to 50 ms for company
    const lines = written
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const decisions = lines.filter((l) => l.runId === run.id && typeof l.decision === 'string');
    expect(decisions).toEqual([
      expect.objectContaining({
        msg: 'decision refused',
        decision: 'approve_plan',
        actor: REQUESTER.id,
        code: 'not_approver',
        deployment: 'svc',
        phase: 'plan',
      }),
      expect.objectContaining({
        msg: 'decision',
        decision: 'approve_plan',
        actor: APPROVER.id,
        code: 'ok',
        deployment: 'svc',
      }),
      expect.objectContaining({
        msg: 'decision',
        decision: 'confirm_apply',
        actor: APPROVER.id,
        code: 'ok',
        deployment: 'svc',
      }),
    ]);
    for (const d of decisions) expect(typeof d.phase).toBe('string');
    expect(written.join('')).not.toContain(SECRET);
    configureProcessLog({ level: 'silent', format: 'json' });
    expect(silentLog).toBeDefined();
  });
});
