#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# notes apply: write the note the plan rendered (from $DEPLOY_ARTIFACT_DIR) into
# $DEPLOY_STATE_DIR/notes/, atomically, and report its path as an output.
set -eu
for name in DEPLOY_RUN_ID DEPLOY_STATE_DIR DEPLOY_ARTIFACT_DIR; do
  node -e 'process.exit(process.env[process.argv[1]] === undefined ? 1 : 0)' "$name" ||
    { printf 'error: not set: %s (deploy-bot sets it)\n' "$name" >&2; exit 1; }
done
if [ ! -f "$DEPLOY_ARTIFACT_DIR/note.json" ] || [ ! -f "$DEPLOY_ARTIFACT_DIR/note.md" ]; then
  echo 'error: no note.json/note.md in DEPLOY_ARTIFACT_DIR: the plan step writes them' >&2
  exit 1
fi
mkdir -p "$DEPLOY_STATE_DIR/notes"

node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const { createHash } = require("node:crypto");
  const env = process.env;
  const meta = JSON.parse(fs.readFileSync(path.join(env.DEPLOY_ARTIFACT_DIR, "note.json"), "utf8"));
  const content = fs.readFileSync(path.join(env.DEPLOY_ARTIFACT_DIR, "note.md"), "utf8");
  if (!/^[a-z0-9-]+\.md$/.test(meta.file) || createHash("sha256").update(content).digest("hex") !== meta.sha256) {
    console.error("error: the artifact does not match its plan (note.json / note.md); plan again");
    process.exit(1);
  }
  const dir = path.resolve(env.DEPLOY_STATE_DIR, "notes");
  const target = path.join(dir, meta.file);
  const existed = fs.existsSync(target);
  console.log(`notes apply for run ${env.DEPLOY_RUN_ID}`);
  fs.writeFileSync(`${target}.tmp`, content);
  fs.renameSync(`${target}.tmp`, target);
  console.log(`${existed ? "updated" : "created"} ${target}`);
  if (env.DEPLOY_OUTPUTS_FILE) {
    const outputs = { file: `notes/${meta.file}`, path: target, bytes: Buffer.byteLength(content) };
    fs.writeFileSync(env.DEPLOY_OUTPUTS_FILE, `${JSON.stringify(outputs, null, 2)}\n`);
  }'
