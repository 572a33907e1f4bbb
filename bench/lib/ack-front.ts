// Diagnostic for the ack benchmark, preloaded into `deploy-bot serve`
// (node --import bench/lib/ack-front.ts): a prototype of acknowledging Slack in a
// worker thread. When BENCH_ACK_FRONT_PORT is set, a thread of the serve process
// listens there, verifies each request's signature, answers 200 at once (what
// every deploy-bot listener acks with), then hands the request unchanged to the
// bot's own receiver on PORT, which processes it as usual (its ack goes nowhere).
// The product is not changed: this measures what acking off the main thread would give.

import http from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { verifySlackSignature } from '../../src/bot/http/verify.ts';

type Options = { frontPort: number; backPort: number; signingSecret: string };

function thread(options: Options) {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(200, { 'content-length': 0 }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const verified = verifySlackSignature({
        signingSecret: options.signingSecret,
        body: raw.toString('utf8'),
        signature: header('x-slack-signature'),
        timestamp: header('x-slack-request-timestamp'),
      });
      if (!verified.ok) {
        res.writeHead(401, { 'content-length': 0 }).end();
        return;
      }
      res.writeHead(200, { 'content-length': 0 }).end();
      const forward = http.request(
        { host: '127.0.0.1', port: options.backPort, path: req.url, method: 'POST', agent },
        (answer) => answer.resume(),
      );
      forward.on('error', () => {});
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined && k !== 'connection' && k !== 'host') forward.setHeader(k, v);
      }
      forward.end(raw);
    });
  });
  server.listen(options.frontPort, '127.0.0.1', () => parentPort?.postMessage('listening'));
}

if (!isMainThread && (workerData as { ackFront?: Options } | null)?.ackFront) {
  thread((workerData as { ackFront: Options }).ackFront);
} else if (isMainThread && process.env.BENCH_ACK_FRONT_PORT) {
  const worker = new Worker(new URL(import.meta.url), {
    // Not the process's --import flags (this file among them).
    execArgv: [],
    workerData: {
      ackFront: {
        frontPort: Number(process.env.BENCH_ACK_FRONT_PORT),
        backPort: Number(process.env.PORT),
        signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
      },
    },
  });
  worker.unref();
}
