#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# notes destroy: remove every note in $DEPLOY_STATE_DIR/notes/, then the folder.
set -eu
for name in DEPLOY_RUN_ID DEPLOY_STATE_DIR; do
  node -e 'process.exit(process.env[process.argv[1]] === undefined ? 1 : 0)' "$name" ||
    { printf 'error: not set: %s (deploy-bot sets it)\n' "$name" >&2; exit 1; }
done

node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const env = process.env;
  const dir = path.join(env.DEPLOY_STATE_DIR, "notes");
  console.log(`notes destroy for run ${env.DEPLOY_RUN_ID}`);
  let files = [];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".md") || f.endsWith(".md.tmp"));
  } catch {}
  for (const f of files) {
    fs.rmSync(path.join(dir, f), { force: true });
    console.log(`removed notes/${f}`);
  }
  try {
    fs.rmdirSync(dir);
  } catch {}
  console.log(files.length === 0 ? "nothing to remove" : `destroyed: ${files.length} note(s) removed`);'
