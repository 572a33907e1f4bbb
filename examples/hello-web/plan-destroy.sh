#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# hello-web destroy plan: a delete change for each thing that exists (the recorded
# config and the running service); an empty list when nothing exists.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

require_env DEPLOY_RUN_ID DEPLOY_STATE_DIR DEPLOY_PLAN_FILE
set_paths

RUNNING_PID=$(server_pid) node -e '
  const fs = require("node:fs");
  const env = process.env;
  const changes = [];
  const lines = [];
  let state = null;
  if (fs.existsSync(env.STATE_FILE)) {
    try {
      state = JSON.parse(fs.readFileSync(env.STATE_FILE, "utf8"));
    } catch {
      state = {};
    }
    changes.push({ address: "local_file.hello_web_config", action: "delete" });
    lines.push(`  - local_file.hello_web_config  (release ${state.release ?? "?"}, port ${state.port ?? "?"})`);
  }
  if (state !== null || env.RUNNING_PID !== "") {
    changes.push({ address: "local_process.hello_web", action: "delete" });
    lines.push(`  - local_process.hello_web  (${env.RUNNING_PID !== "" ? `pid ${env.RUNNING_PID}` : "not running"})`);
  }
  fs.writeFileSync(env.DEPLOY_PLAN_FILE, `${JSON.stringify({ changes }, null, 2)}\n`);
  console.log(`hello-web destroy plan for run ${env.DEPLOY_RUN_ID}`);
  if (changes.length === 0) console.log("No changes: nothing is deployed.");
  else {
    for (const line of lines) console.log(line);
    console.log(`Plan: 0 to add, 0 to change, ${changes.length} to destroy.`);
  }'
