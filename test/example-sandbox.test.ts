// The bundled example, end to end, with its steps in bubblewrap: hello-web's
// apply starts a long-lived service (declared: sandbox.services) that outlives
// the step, a second apply replaces it, destroy stops it.

import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let h: Harness;
let port: number;
beforeAll(async () => {
  process.env.DEPLOY_STEP_SANDBOX = 'required';
  port = await freePort();
  // The example's config as shipped, on a port of this test's own (others may run it too).
  const yaml = readFileSync(path.join(EXAMPLES, 'deploy.config.yaml'), 'utf8')
    .replaceAll('8787', String(port))
    .replaceAll('./hello-web', path.join(EXAMPLES, 'hello-web'))
    .replaceAll('./notes', path.join(EXAMPLES, 'notes'))
    .replaceAll('U0LOCALDEV', APPROVER.id);
  h = await startHarness({ config: yaml });
}, 60_000);
afterAll(async () => {
  delete process.env.DEPLOY_STEP_SANDBOX;
  await h?.close();
});

async function deploy(kind: 'execute' | 'destroy', variables: Record<string, string> = {}) {
  const run =
    kind === 'execute'
      ? await h.core.requestRun({ deployment: 'hello-web', variables, actor: REQUESTER })
      : await h.core.requestRun({ deployment: 'hello-web', kind: 'destroy', actor: REQUESTER });
  await h.waitFor(run.id, 'awaiting_plan_approval', 30_000);
  await h.core.approvePlan(run.id, APPROVER);
  await h.core.confirmApply(run.id, APPROVER);
  return h.waitFor(run.id, ['completed', 'destroyed', 'failed', 'rolled_back'], 60_000);
}

describe.skipIf(!existsSync('/usr/bin/bwrap'))('the bundled example in the sandbox', () => {
  it('hello-web: apply starts the service, which outlives its step; a second apply replaces it; destroy stops it', async () => {
    const first = await deploy('execute', { message: 'first' });
    expect(first.status, first.error ?? '').toBe('completed');
    const answer = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(answer).toContain('first');

    const second = await deploy('execute', { message: 'second' });
    expect(second.status, second.error ?? '').toBe('completed');
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toContain('second');

    const gone = await deploy('destroy');
    expect(gone.status, gone.error ?? '').toBe('destroyed');
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }, 180_000);
});
