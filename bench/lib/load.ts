// Open-loop load generator, in a process of its own (so that the fake Slack and
// the benchmark's bookkeeping never delay a measurement). Reads a LoadSpec as
// JSON on stdin, writes one LoadResult per target as JSON on stdout.
//
// Each request is signed just before it is sent (outside the timed part) and
// sent on schedule whether or not earlier ones were answered; its latency is
// from http.request() to the end of the answer, over a keep-alive agent (one
// per target). Several targets are interleaved: each gets `rate` requests per
// second, target k offset by k / (rate × targets) s, so that they share the
// machine's conditions without overlapping.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { signedFormHeaders } from '../../test/support/slack-signing.ts';

export type LoadTarget = {
  readonly url: string;
  readonly bodies: readonly string[];
  /** Sent one after another before the measured ones (warm the JIT and the connection). */
  readonly warmup: readonly string[];
};

export type LoadSpec = {
  readonly secret: string;
  /** Requests per second, per target. */
  readonly rate: number;
  readonly targets: readonly LoadTarget[];
};

export type LoadResult = {
  /** Milliseconds, in the order sent. */
  readonly latencies: number[];
  readonly statuses: Record<string, number>;
  readonly errors: string[];
  /** How late the sends were against the schedule, milliseconds (max). */
  readonly maxLag: number;
  readonly seconds: number;
};

/** Runs a LoadSpec in a fresh load-generator process; one result per target. */
export function runLoad(spec: LoadSpec): Promise<LoadResult[]> {
  const child = spawn(process.execPath, [import.meta.filename], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stdin.end(JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the load generator exited with ${code}`));
      else resolve(JSON.parse(out) as LoadResult[]);
    });
  });
}

type One = { ms: number; status: number; error?: string };

async function main() {
  let input = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) input += chunk as string;
  const spec = JSON.parse(input) as LoadSpec;
  const agents = spec.targets.map(() => new http.Agent({ keepAlive: true }));

  const send = (k: number, body: string): Promise<One> => {
    const headers = {
      ...signedFormHeaders(spec.secret, body),
      'content-length': String(Buffer.byteLength(body)),
    };
    return new Promise((resolve) => {
      const started = performance.now();
      const req = http.request(
        spec.targets[k]!.url,
        { method: 'POST', agent: agents[k], headers },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }),
          );
        },
      );
      req.on('error', (error) =>
        resolve({ ms: performance.now() - started, status: -1, error: error.message }),
      );
      req.end(body);
    });
  };

  for (let k = 0; k < spec.targets.length; k++)
    for (const body of spec.targets[k]!.warmup) await send(k, body);

  const n = spec.targets.length;
  const pending: Promise<One>[][] = spec.targets.map(() => []);
  const lags: number[] = spec.targets.map(() => 0);
  const schedule: { due: number; k: number; i: number }[] = [];
  const began = performance.now() + 20;
  for (let k = 0; k < n; k++) {
    const bodies = spec.targets[k]!.bodies;
    for (let i = 0; i < bodies.length; i++)
      schedule.push({ due: began + (i * 1000) / spec.rate + (k * 1000) / (spec.rate * n), k, i });
  }
  schedule.sort((a, b) => a.due - b.due);
  for (const { due, k, i } of schedule) {
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 1));
    while (performance.now() < due) {
      // the last millisecond: spin, setTimeout is not that precise
    }
    lags[k] = Math.max(lags[k]!, performance.now() - due);
    pending[k]!.push(send(k, spec.targets[k]!.bodies[i]!));
  }
  const out: LoadResult[] = [];
  for (let k = 0; k < n; k++) {
    const results = await Promise.all(pending[k]!);
    const statuses: Record<string, number> = {};
    for (const r of results) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
    out.push({
      latencies: results.map((r) => r.ms),
      statuses,
      errors: [...new Set(results.flatMap((r) => (r.error ? [r.error] : [])))],
      maxLag: lags[k]!,
      seconds: (performance.now() - began) / 1000,
    });
    agents[k]!.destroy();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (import.meta.main) await main();
