# Shared helpers for the hello-web step scripts. Sourced by them, not run.
#
# shellcheck shell=sh disable=SC2016 # node code is single-quoted on purpose
#
# Every value that comes from the bot (variables, paths) arrives in an environment
# variable and is used in one of two ways only: expanded inside double quotes, or
# read by node from process.env. Nothing is ever pasted into code or eval'd.

say() { printf '%s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# require_env NAME... : fail with one clear line when the bot did not set them.
require_env() {
  node -e '
    const missing = process.argv.slice(1).filter((n) => process.env[n] === undefined);
    if (missing.length > 0) {
      console.error(`error: not set: ${missing.join(", ")} (deploy-bot sets these for every step)`);
      process.exit(1);
    }' "$@"
}

# The files of the "infrastructure", all in the deployment's persistent state dir.
set_paths() {
  mkdir -p "$DEPLOY_STATE_DIR"
  STATE_DIR=$(cd "$DEPLOY_STATE_DIR" && pwd)
  STATE_FILE=$STATE_DIR/state.json            # the deployed config; server.mjs reads it
  PREVIOUS_FILE=$STATE_DIR/state.previous.json  # the config before the last apply
  SERVER_FILE=$STATE_DIR/server.mjs           # the installed code
  PREVIOUS_SERVER_FILE=$STATE_DIR/server.previous.mjs
  PID_FILE=$STATE_DIR/server.pid              # written by the server once it listens
  LOG_FILE=$STATE_DIR/server.log
  RELEASE_FILE=$STATE_DIR/release             # counts releases; never goes down
  export STATE_DIR STATE_FILE PREVIOUS_FILE SERVER_FILE PREVIOUS_SERVER_FILE PID_FILE LOG_FILE RELEASE_FILE
}

# json_get FILE FIELD : print one field of a JSON file (empty when absent).
json_get() {
  JG_FILE=$1 JG_FIELD=$2 node -e '
    const v = JSON.parse(require("node:fs").readFileSync(process.env.JG_FILE, "utf8"))[process.env.JG_FIELD];
    process.stdout.write(v === undefined || v === null ? "" : String(v));'
}

# JavaScript: is a pid alive? (A zombie counts as gone: nothing may reap it in a container.)
JS_ALIVE='
  const alive = (pid) => {
    try { process.kill(pid, 0); } catch { return false; }
    try {
      const stat = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    } catch {}
    return true;
  };'

# wait_gone PID SECONDS : succeed once PID has exited, fail after SECONDS.
wait_gone() {
  WG_PID=$1 WG_SECONDS=$2 node -e "$JS_ALIVE"'
    const pid = Number(process.env.WG_PID);
    const end = Date.now() + 1000 * Number(process.env.WG_SECONDS);
    const tick = () => {
      if (!alive(pid)) process.exit(0);
      if (Date.now() > end) process.exit(1);
      setTimeout(tick, 100);
    };
    tick();'
}

# wait_port_free PORT SECONDS : succeed once nothing listens on 127.0.0.1:PORT.
wait_port_free() {
  WP_PORT=$1 WP_SECONDS=$2 node -e '
    const net = require("node:net");
    const end = Date.now() + 1000 * Number(process.env.WP_SECONDS);
    const attempt = () => {
      const probe = net.createServer();
      probe.once("error", () => {
        if (Date.now() > end) process.exit(1);
        setTimeout(attempt, 200);
      });
      probe.listen(Number(process.env.WP_PORT), "127.0.0.1", () => probe.close(() => process.exit(0)));
    };
    attempt();'
}

# server_pid : print the pid of this deployment's running server, or nothing.
server_pid() {
  [ -f "$PID_FILE" ] || return 0
  sp_pid=$(tr -cd '0-9' <"$PID_FILE")
  [ -n "$sp_pid" ] || return 0
  SP_PID=$sp_pid node -e "$JS_ALIVE"'process.exit(alive(Number(process.env.SP_PID)) ? 0 : 1)' || return 0
  # A pid file can outlive its process (a reboot): make sure the pid is still ours.
  # In deploy-bot's sandbox (sandbox.services) there is no /proc and ps cannot
  # look: the pid file is in this deployment's own state directory, and the step
  # user can signal only its own processes.
  if [ -r "/proc/$sp_pid/cmdline" ]; then
    tr '\0' '\n' <"/proc/$sp_pid/cmdline" | grep -qxF -- "$SERVER_FILE" || return 0
  elif [ -d /proc/self ] && command -v ps >/dev/null 2>&1; then
    ps -p "$sp_pid" -o args= 2>/dev/null | grep -qF -- "$SERVER_FILE" || return 0
  fi
  printf '%s\n' "$sp_pid"
}

# stop_server : stop the running server, if any (SIGTERM, then SIGKILL after 10s).
stop_server() {
  ss_pid=$(server_pid)
  if [ -z "$ss_pid" ]; then
    rm -f "$PID_FILE"
    return 0
  fi
  say "stopping the service (pid $ss_pid)"
  kill -TERM "$ss_pid" 2>/dev/null || true
  if ! wait_gone "$ss_pid" 10; then
    say "still running after 10s: sending SIGKILL"
    kill -KILL "$ss_pid" 2>/dev/null || true
    wait_gone "$ss_pid" 5 || die "could not stop pid $ss_pid"
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

# start_server : start server.mjs with state.json, detached from this step, and wait
# until every replica listens (the server then writes its pid file).
start_server() {
  st_port=$(json_get "$STATE_FILE" port)
  if ! wait_port_free "$st_port" 15; then
    die "port $st_port on 127.0.0.1 is still in use by another process"
  fi
  rm -f "$PID_FILE"
  say "starting the service on 127.0.0.1:$st_port (log: $LOG_FILE)"
  # setsid: a session of its own, so the step's end, timeout or hang-up does not
  # take the service with it. nohup: in case setsid is missing.
  # The service's cwd is the state dir, not the run's workspace (which goes away).
  if command -v setsid >/dev/null 2>&1; then
    (cd "$STATE_DIR" && exec setsid nohup node "$SERVER_FILE" "$STATE_FILE" "$PID_FILE" \
      </dev/null >>"$LOG_FILE" 2>&1) &
  else
    (cd "$STATE_DIR" && exec nohup node "$SERVER_FILE" "$STATE_FILE" "$PID_FILE" \
      </dev/null >>"$LOG_FILE" 2>&1) &
  fi
  ST_CHILD=$! node -e "$JS_ALIVE"'
    const fs = require("node:fs");
    const child = Number(process.env.ST_CHILD);
    const end = Date.now() + 20000;
    let goneSince = 0;
    const tick = () => {
      let pid = "";
      try { pid = fs.readFileSync(process.env.PID_FILE, "utf8").trim(); } catch {}
      if (pid !== "" && alive(Number(pid))) process.exit(0);
      // setsid may fork: give a vanished launcher a moment before calling it a failure.
      if (!alive(child)) goneSince ||= Date.now();
      if ((goneSince && Date.now() - goneSince > 1500) || Date.now() > end) process.exit(1);
      setTimeout(tick, 100);
    };
    tick();' || {
    say "the service did not start; the end of $LOG_FILE:"
    tail -n 20 "$LOG_FILE" 2>/dev/null | sed 's/^/  | /'
    die "the service did not start"
  }
  say "service running: pid $(tr -cd '0-9' <"$PID_FILE"), http://127.0.0.1:$st_port/"
}

# write_outputs : the run's outputs, when the bot asked for them.
write_outputs() {
  [ -n "${DEPLOY_OUTPUTS_FILE:-}" ] || return 0
  node -e '
    const fs = require("node:fs");
    const state = JSON.parse(fs.readFileSync(process.env.STATE_FILE, "utf8"));
    const pid = Number(fs.readFileSync(process.env.PID_FILE, "utf8").trim());
    const outputs = {
      url: `http://127.0.0.1:${state.port}/`,
      pid,
      release: state.release,
      replicas: state.replicas,
    };
    fs.writeFileSync(process.env.DEPLOY_OUTPUTS_FILE, `${JSON.stringify(outputs, null, 2)}\n`);'
}
