#!/bin/sh
# hello-web rollback: undo this run's apply (deploy-bot runs it when verify fails).
#   - state.previous.json exists: restore it and the server.mjs it ran with, restart;
#   - no previous state (this run was the first release): stop the service and
#     remove its state, as before the run.
# Only a release this run deployed is rolled back: when state.json was written by
# another run, this run changed nothing and the service is left as it is.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

require_env DEPLOY_RUN_ID DEPLOY_STATE_DIR
set_paths
say "hello-web rollback for run $DEPLOY_RUN_ID"

if [ ! -f "$STATE_FILE" ]; then
  say "nothing is deployed; making sure the service is stopped"
  stop_server
  exit 0
fi

deployed_by=$(json_get "$STATE_FILE" deployed_by_run)
if [ "$deployed_by" != "$DEPLOY_RUN_ID" ]; then
  say "the deployed release $(json_get "$STATE_FILE" release) came from run $deployed_by, not this run: nothing to roll back"
  exit 0
fi

current_port=$(json_get "$STATE_FILE" port)
bad_release=$(json_get "$STATE_FILE" release)

if [ -f "$PREVIOUS_FILE" ]; then
  say "rolling back release $bad_release to release $(json_get "$PREVIOUS_FILE" release)"
  stop_server
  wait_port_free "$current_port" 10 || say "warning: port $current_port is still in use"
  cp "$PREVIOUS_FILE" "$STATE_FILE.tmp"
  mv "$STATE_FILE.tmp" "$STATE_FILE"
  if [ -f "$PREVIOUS_SERVER_FILE" ]; then
    cp "$PREVIOUS_SERVER_FILE" "$SERVER_FILE.tmp"
    mv "$SERVER_FILE.tmp" "$SERVER_FILE"
  fi
  start_server
  write_outputs
  say "rolled back: release $(json_get "$STATE_FILE" release) runs again"
else
  say "release $bad_release was the first one: stopping the service and removing its state"
  stop_server
  wait_port_free "$current_port" 10 || say "warning: port $current_port is still in use"
  rm -f "$STATE_FILE" "$SERVER_FILE"
  say "rolled back: nothing is deployed"
fi
