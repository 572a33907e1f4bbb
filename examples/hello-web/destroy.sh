#!/bin/sh
# hello-web destroy: stop the service and remove everything it keeps in
# $DEPLOY_STATE_DIR (config, previous config, installed code, pid, log, release count).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

require_env DEPLOY_RUN_ID DEPLOY_STATE_DIR
set_paths
say "hello-web destroy for run $DEPLOY_RUN_ID"

port=
if [ -f "$STATE_FILE" ]; then port=$(json_get "$STATE_FILE" port 2>/dev/null || true); fi
stop_server
if [ -n "$port" ] && ! wait_port_free "$port" 10; then
  say "warning: port $port is still in use"
fi
rm -f "$STATE_FILE" "$STATE_FILE.tmp" "$STATE_DIR/state.next.json" "$PREVIOUS_FILE" \
  "$SERVER_FILE" "$SERVER_FILE.tmp" "$PREVIOUS_SERVER_FILE" "$PID_FILE" "$LOG_FILE" "$RELEASE_FILE"
say "destroyed: the service is stopped and its state removed"
