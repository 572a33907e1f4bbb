#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# hello-web plan: compare what the variables ask for with what is recorded in
# $DEPLOY_STATE_DIR/state.json (and whether the service runs), then
#   - write the changes document to $DEPLOY_PLAN_FILE (empty list = no changes),
#   - leave desired.json and server.mjs in $DEPLOY_ARTIFACT_DIR, so apply deploys
#     exactly what was planned and approved, even if the source changes meanwhile,
#   - print the plan for people.
# The API token is never written anywhere: only its sha256 is compared and recorded.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

require_env DEPLOY_RUN_ID DEPLOY_STATE_DIR DEPLOY_ARTIFACT_DIR DEPLOY_PLAN_FILE \
  DEPLOY_VAR_message DEPLOY_VAR_port DEPLOY_VAR_replicas DEPLOY_VAR_break_health DEPLOY_VAR_api_token
set_paths
mkdir -p "$DEPLOY_ARTIFACT_DIR"

if [ -n "$(server_pid)" ]; then RUNNING=yes; else RUNNING=no; fi
cp "$here/server.mjs" "$DEPLOY_ARTIFACT_DIR/server.mjs"

RUNNING=$RUNNING node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const { createHash } = require("node:crypto");
  const env = process.env;
  const sha256 = (data) => createHash("sha256").update(data).digest("hex");
  const fail = (message) => {
    console.error(`error: ${message}`);
    process.exit(1);
  };

  // The bot validated the variables already; check again, the scripts may run by hand.
  const integer = (name, min, max) => {
    const n = Number(env[`DEPLOY_VAR_${name}`]);
    if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const flag = (name) => {
    const v = String(env[`DEPLOY_VAR_${name}`]).trim().toLowerCase();
    if (["true", "yes", "on", "1"].includes(v)) return true;
    if (["false", "no", "off", "0", ""].includes(v)) return false;
    fail(`${name} must be true or false`);
  };
  const desired = {
    service: "hello-web",
    message: env.DEPLOY_VAR_message,
    port: integer("port", 1024, 65535),
    replicas: integer("replicas", 1, 4),
    break_health: flag("break_health"),
    token_sha256: sha256(env.DEPLOY_VAR_api_token),
    code_sha256: sha256(fs.readFileSync(path.join(env.DEPLOY_ARTIFACT_DIR, "server.mjs"))),
    planned_by_run: env.DEPLOY_RUN_ID,
  };

  let current = null;
  let unreadable = false;
  if (fs.existsSync(env.STATE_FILE)) {
    try {
      current = JSON.parse(fs.readFileSync(env.STATE_FILE, "utf8"));
    } catch {
      unreadable = true;
    }
  }
  const running = env.RUNNING === "yes";

  const CONFIG = "local_file.hello_web_config";
  const SERVICE = "local_process.hello_web";
  const changes = [];
  const lines = [];
  const show = (key, value) => {
    if (key === "token_sha256") return "(sensitive)";
    if (key === "code_sha256") return `sha256 ${value.slice(0, 12)}`;
    return JSON.stringify(value);
  };
  const label = { token_sha256: "api_token", code_sha256: "server.mjs" };
  const FIELDS = ["message", "port", "replicas", "break_health", "token_sha256", "code_sha256"];

  if (current === null) {
    changes.push({ address: CONFIG, action: unreadable ? "update" : "create" });
    changes.push({ address: SERVICE, action: running ? "replace" : "create" });
    lines.push(`  + ${CONFIG}  (${unreadable ? "state.json is unreadable: rewrite it" : "new"})`);
    for (const key of FIELDS) lines.push(`      ${label[key] ?? key}: ${show(key, desired[key])}`);
    lines.push(`  + ${SERVICE}  (node server.mjs on 127.0.0.1:${desired.port}, ${desired.replicas} replica(s))`);
  } else {
    const differing = FIELDS.filter((key) => JSON.stringify(current[key]) !== JSON.stringify(desired[key]));
    if (differing.length > 0) {
      changes.push({ address: CONFIG, action: "update" });
      lines.push(`  ~ ${CONFIG}  (release ${current.release ?? "?"})`);
      for (const key of differing) {
        lines.push(
          key === "token_sha256"
            ? "      ~ api_token: (sensitive value changed)"
            : `      ~ ${label[key] ?? key}: ${current[key] === undefined ? "(none)" : show(key, current[key])} -> ${show(key, desired[key])}`,
        );
      }
      const moves = differing.includes("port");
      changes.push({ address: SERVICE, action: moves ? "replace" : "update" });
      lines.push(
        moves
          ? `  -/+ ${SERVICE}  (moves to 127.0.0.1:${desired.port})`
          : `  ~ ${SERVICE}  (restart${running ? "" : "; it is not running now"})`,
      );
    } else if (!running) {
      changes.push({ address: SERVICE, action: "create" });
      lines.push(`  + ${SERVICE}  (the recorded release ${current.release ?? "?"} is not running: start it)`);
    }
  }

  fs.writeFileSync(path.join(env.DEPLOY_ARTIFACT_DIR, "desired.json"), `${JSON.stringify(desired, null, 2)}\n`);
  fs.writeFileSync(env.DEPLOY_PLAN_FILE, `${JSON.stringify({ changes }, null, 2)}\n`);

  console.log(`hello-web plan for run ${env.DEPLOY_RUN_ID}`);
  if (changes.length === 0) {
    console.log(`No changes: release ${current.release ?? "?"} runs on 127.0.0.1:${current.port} as asked.`);
  } else {
    for (const line of lines) console.log(line);
    const count = (action) => changes.filter((c) => c.action === action).length;
    console.log(
      `Plan: ${count("create")} to add, ${count("update") + count("replace")} to change, ${count("delete")} to destroy.`,
    );
    if (desired.break_health) console.log("Note: break_health=true, so /healthz will answer 500 and verify will fail.");
  }'
