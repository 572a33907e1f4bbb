// A tiny HTTP service for the hello-web example deployment.
//
//   node server.mjs CONFIG_JSON [PID_FILE]
//
// CONFIG_JSON is the state.json that apply.sh writes: { message, port, replicas,
// break_health, release, ... }. The service listens on 127.0.0.1:port with
// `replicas` worker processes (node:cluster) and answers:
//
//   GET /         200  "<message>\nrelease <n>, replica <i> of <replicas>\n"
//   GET /healthz  200 "ok", or 500 "broken" when the config says break_health
//
// When every replica listens, the primary writes its pid to PID_FILE: that is how
// apply.sh knows the service is up. Nothing secret is in the config (the API token
// is recorded as a sha256 only) and nothing secret is logged.

import cluster from 'node:cluster';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';

const [configPath, pidFile] = process.argv.slice(2);
if (configPath === undefined) {
  console.error('usage: node server.mjs CONFIG_JSON [PID_FILE]');
  process.exit(2);
}

const config = JSON.parse(readFileSync(configPath, 'utf8'));
const port = Number(config.port);
const replicas = Math.max(1, Math.min(16, Number(config.replicas) || 1));
const broken = config.break_health === true;
const release = config.release ?? '?';

function log(line) {
  console.log(`${new Date().toISOString()} [${process.pid}] ${line}`);
}

if (cluster.isPrimary) {
  let listening = 0;
  let stopping = false;
  let ready = false;

  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping ${replicas} replica(s)`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    // Give the replicas a moment, then go regardless.
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => log('SIGHUP ignored (restart through a deployment)'));
  process.on('exit', () => {
    if (pidFile === undefined || !ready) return;
    try {
      if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile);
    } catch {
      // Already gone.
    }
  });

  cluster.on('listening', () => {
    listening += 1;
    if (listening === replicas && !ready) {
      ready = true;
      if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`);
      log(
        `release ${release} listening on http://127.0.0.1:${port}/ with ${replicas} replica(s)` +
          (broken ? ' (break_health: /healthz answers 500)' : ''),
      );
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (!ready) {
      // A replica that cannot start (port taken, bad config) fails the whole service,
      // so apply.sh sees the failure instead of a restart loop.
      log(
        `replica ${worker.id} exited during start-up (code ${code}, signal ${signal}); giving up`,
      );
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.kill('SIGTERM');
      process.exit(1);
    }
    log(`replica ${worker.id} exited (code ${code}, signal ${signal}); starting another`);
    cluster.fork();
  });

  for (let i = 0; i < replicas; i++) cluster.fork();
} else {
  const replica = cluster.worker?.id ?? 1;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (status, body) => {
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return broken ? send(500, 'broken\n') : send(200, 'ok\n');
    if (path === '/') {
      return send(
        200,
        `${config.message}\nrelease ${release}, replica ${replica} of ${replicas}\n`,
      );
    }
    return send(404, 'not found\n');
  });
  server.on('error', (error) => {
    log(`replica ${replica}: ${error.message}`);
    process.exit(1);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  server.listen(port, '127.0.0.1');
}
