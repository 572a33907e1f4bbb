// Open-loop load generator, in a process of its own (so that the fake Slack and
// the benchmark's bookkeeping never delay a measurement). Reads a LoadSpec as
// JSON on stdin, writes a LoadResult as JSON on stdout.
//
// Each request is signed just before it is sent (outside the timed part) and
// sent on schedule (i / rate s after the start) whether or not earlier ones
// were answered; its latency is from http.request() to the end of the answer,
// over a keep-alive agent.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { signedFormHeaders } from '../../test/support/slack-signing.ts';

export type LoadSpec = {
  readonly url: string;
  readonly secret: string;
  /** Requests per second. */
  readonly rate: number;
  readonly bodies: readonly string[];
  /** Sent one after another before the measured ones (warm the JIT and the connection). */
  readonly warmup: readonly string[];
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

/** Runs a LoadSpec in a fresh load-generator process. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
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
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

type One = { ms: number; status: number; error?: string };

async function main() {
  let input = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) input += chunk as string;
  const spec = JSON.parse(input) as LoadSpec;
  const agent = new http.Agent({ keepAlive: true });

  const send = (body: string): Promise<One> => {
    const headers = {
      ...signedFormHeaders(spec.secret, body),
      'content-length': String(Buffer.byteLength(body)),
    };
    return new Promise((resolve) => {
      const started = performance.now();
      const req = http.request(spec.url, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }),
        );
      });
      req.on('error', (error) =>
        resolve({ ms: performance.now() - started, status: -1, error: error.message }),
      );
      req.end(body);
    });
  };

  for (const body of spec.warmup) await send(body);

  const pending: Promise<One>[] = [];
  let maxLag = 0;
  const began = performance.now() + 20;
  for (let i = 0; i < spec.bodies.length; i++) {
    const due = began + (i * 1000) / spec.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 1));
    while (performance.now() < due) {
      // the last millisecond: spin, setTimeout is not that precise
    }
    maxLag = Math.max(maxLag, performance.now() - due);
    pending.push(send(spec.bodies[i]!));
  }
  const results = await Promise.all(pending);
  const statuses: Record<string, number> = {};
  for (const r of results) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
  const out: LoadResult = {
    latencies: results.map((r) => r.ms),
    statuses,
    errors: [...new Set(results.flatMap((r) => (r.error ? [r.error] : [])))],
    maxLag,
    seconds: (performance.now() - began) / 1000,
  };
  agent.destroy();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (import.meta.main) await main();
