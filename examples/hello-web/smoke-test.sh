#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# hello-web smoke test (verify.command): GET / on the deployed port must answer 200
# with the deployed message as its first line. Uses node's fetch (curl may be missing).
# The port and message come from the run's variables; by hand, from state.json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

require_env DEPLOY_STATE_DIR
set_paths
if [ -z "${DEPLOY_VAR_port:-}" ] || [ -z "${DEPLOY_VAR_message+set}" ]; then
  [ -f "$STATE_FILE" ] || die "nothing is deployed (no state.json)"
fi

node -e '
  const fs = require("node:fs");
  const env = process.env;
  let state = {};
  try {
    state = JSON.parse(fs.readFileSync(env.STATE_FILE, "utf8"));
  } catch {}
  const port = env.DEPLOY_VAR_port ? Number(env.DEPLOY_VAR_port) : state.port;
  const message = env.DEPLOY_VAR_message ?? state.message;
  const url = `http://127.0.0.1:${port}/`;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  (async () => {
    let last = "";
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        const body = await res.text();
        if (res.status === 200 && body.startsWith(`${message}\n`)) {
          console.log(`smoke test passed: GET ${url} answered the message (${body.split("\n")[1]})`);
          return;
        }
        last = `status ${res.status}, first line ${JSON.stringify(body.split("\n")[0])}`;
      } catch (error) {
        last = String(error.cause?.code ?? error.message);
      }
      await sleep(500);
    }
    console.error(`smoke test failed: GET ${url}: expected status 200 and ${JSON.stringify(message)}; got ${last}`);
    process.exit(1);
  })();'
