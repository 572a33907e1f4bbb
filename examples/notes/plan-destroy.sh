#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# notes destroy plan: a delete change for every note in $DEPLOY_STATE_DIR/notes/
# (an empty list when there is none). Destroying the deployment removes all its notes.
set -eu
for name in DEPLOY_RUN_ID DEPLOY_STATE_DIR DEPLOY_PLAN_FILE; do
  node -e 'process.exit(process.env[process.argv[1]] === undefined ? 1 : 0)' "$name" ||
    { printf 'error: not set: %s (deploy-bot sets it)\n' "$name" >&2; exit 1; }
done

node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const env = process.env;
  let files = [];
  try {
    files = fs.readdirSync(path.join(env.DEPLOY_STATE_DIR, "notes")).filter((f) => f.endsWith(".md")).sort();
  } catch {}
  const changes = files.map((f) => ({ address: `local_file.notes/${f}`, action: "delete" }));
  fs.writeFileSync(env.DEPLOY_PLAN_FILE, `${JSON.stringify({ changes }, null, 2)}\n`);
  console.log(`notes destroy plan for run ${env.DEPLOY_RUN_ID}`);
  if (changes.length === 0) console.log("No changes: there are no notes.");
  else {
    for (const c of changes) console.log(`  - ${c.address}`);
    console.log(`Plan: 0 to add, 0 to change, ${changes.length} to destroy.`);
  }'
