#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# hello-web apply: deploy exactly what the plan left in $DEPLOY_ARTIFACT_DIR.
#   1. check desired.json and server.mjs are the ones planned (sha256),
#   2. keep the current state.json/server.mjs as *.previous.* (for rollback.sh),
#   3. write the new state.json (the service's config) and install server.mjs
#      into $DEPLOY_STATE_DIR (the run's workspace does not outlive the run),
#   4. stop the running service, wait for the port, start the new one detached
#      from this step, wait until it listens,
#   5. write the outputs {url, pid, release, replicas} to $DEPLOY_OUTPUTS_FILE.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

require_env DEPLOY_RUN_ID DEPLOY_STATE_DIR DEPLOY_ARTIFACT_DIR
set_paths
DESIRED_FILE=$DEPLOY_ARTIFACT_DIR/desired.json
ARTIFACT_SERVER=$DEPLOY_ARTIFACT_DIR/server.mjs
export DESIRED_FILE ARTIFACT_SERVER
[ -f "$DESIRED_FILE" ] || die "no desired.json in DEPLOY_ARTIFACT_DIR: the plan step writes it"
[ -f "$ARTIFACT_SERVER" ] || die "no server.mjs in DEPLOY_ARTIFACT_DIR: the plan step copies it"

say "hello-web apply for run $DEPLOY_RUN_ID"

# Build the new state.json next to the old one, checking the artifact on the way.
NEXT_FILE=$STATE_DIR/state.next.json
NEXT_FILE=$NEXT_FILE node -e '
  const fs = require("node:fs");
  const { createHash } = require("node:crypto");
  const env = process.env;
  const desired = JSON.parse(fs.readFileSync(env.DESIRED_FILE, "utf8"));
  const code = createHash("sha256").update(fs.readFileSync(env.ARTIFACT_SERVER)).digest("hex");
  if (desired.service !== "hello-web" || code !== desired.code_sha256) {
    console.error("error: the artifact does not match its plan (desired.json / server.mjs); plan again");
    process.exit(1);
  }
  let release = 0;
  try {
    release = Number(fs.readFileSync(env.RELEASE_FILE, "utf8").trim()) || 0;
  } catch {}
  release += 1;
  fs.writeFileSync(env.RELEASE_FILE, `${release}\n`);
  const state = {
    ...desired,
    release,
    deployed_by_run: env.DEPLOY_RUN_ID,
    deployed_at: new Date().toISOString(),
  };
  fs.writeFileSync(env.NEXT_FILE, `${JSON.stringify(state, null, 2)}\n`);
  console.log(`release ${release}: message ${JSON.stringify(state.message)}, port ${state.port}, ` +
    `${state.replicas} replica(s)${state.break_health ? ", break_health ON" : ""}`);'

if [ -f "$STATE_FILE" ]; then
  old_port=$(json_get "$STATE_FILE" port)
  say "keeping release $(json_get "$STATE_FILE" release) as state.previous.json for rollback"
  cp "$STATE_FILE" "$PREVIOUS_FILE"
  if [ -f "$SERVER_FILE" ]; then cp "$SERVER_FILE" "$PREVIOUS_SERVER_FILE"; fi
else
  old_port=
  say "first release: nothing to keep for rollback"
  rm -f "$PREVIOUS_FILE" "$PREVIOUS_SERVER_FILE"
fi

cp "$ARTIFACT_SERVER" "$SERVER_FILE.tmp"
mv "$SERVER_FILE.tmp" "$SERVER_FILE"
mv "$NEXT_FILE" "$STATE_FILE"
say "wrote $STATE_FILE"

stop_server
if [ -n "$old_port" ] && ! wait_port_free "$old_port" 10; then
  say "warning: port $old_port is still in use after stopping the old service"
fi
start_server
write_outputs
say "done: release $(json_get "$STATE_FILE" release) at http://127.0.0.1:$(json_get "$STATE_FILE" port)/"
