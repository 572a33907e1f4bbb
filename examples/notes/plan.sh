#!/bin/sh
# shellcheck disable=SC2016 # node code is single-quoted on purpose, reading values from process.env
# notes plan: render the note for $DEPLOY_VAR_title / $DEPLOY_VAR_body as markdown and
# compare it with the file of that title in $DEPLOY_STATE_DIR/notes/:
#   no file            -> create
#   different content  -> update
#   same content       -> no changes (an empty list: the run ends as "no changes")
# The rendered note is left in $DEPLOY_ARTIFACT_DIR so apply writes exactly it.
# Each title has its own file: <slug of the title>-<8 hex of its sha256>.md.
set -eu
for name in DEPLOY_RUN_ID DEPLOY_STATE_DIR DEPLOY_ARTIFACT_DIR DEPLOY_PLAN_FILE DEPLOY_VAR_title; do
  node -e 'process.exit(process.env[process.argv[1]] === undefined ? 1 : 0)' "$name" ||
    { printf 'error: not set: %s (deploy-bot sets it)\n' "$name" >&2; exit 1; }
done
mkdir -p "$DEPLOY_ARTIFACT_DIR"

node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const { createHash } = require("node:crypto");
  const env = process.env;
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");

  const title = env.DEPLOY_VAR_title;
  const body = env.DEPLOY_VAR_body ?? "";
  if (title.trim() === "") {
    console.error("error: title is empty");
    process.exit(1);
  }
  // The title is data: one line of heading text, whatever it contains.
  const heading = title.replace(/\s+/g, " ").trim();
  const content = `# ${heading}\n\n${body.replace(/\r\n/g, "\n").replace(/\s+$/, "")}\n`.replace(/\n\n\n$/, "\n");
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48).replace(/-+$/, "");
  const file = `${slug || "note"}-${sha256(title).slice(0, 8)}.md`;
  const address = `local_file.notes/${file}`;

  const target = path.join(env.DEPLOY_STATE_DIR, "notes", file);
  let existing = null;
  try {
    existing = fs.readFileSync(target, "utf8");
  } catch {}

  const changes = [];
  if (existing === null) changes.push({ address, action: "create" });
  else if (existing !== content) changes.push({ address, action: "update" });

  fs.writeFileSync(path.join(env.DEPLOY_ARTIFACT_DIR, "note.md"), content);
  fs.writeFileSync(
    path.join(env.DEPLOY_ARTIFACT_DIR, "note.json"),
    `${JSON.stringify({ file, sha256: sha256(content), planned_by_run: env.DEPLOY_RUN_ID }, null, 2)}\n`,
  );
  fs.writeFileSync(env.DEPLOY_PLAN_FILE, `${JSON.stringify({ changes }, null, 2)}\n`);

  console.log(`notes plan for run ${env.DEPLOY_RUN_ID}`);
  if (changes.length === 0) {
    console.log(`No changes: notes/${file} already says exactly this.`);
    process.exit(0);
  }
  const lines = (text) => text.split("\n").length - 1;
  if (existing === null) console.log(`  + ${address}  (new, ${lines(content)} line(s))`);
  else console.log(`  ~ ${address}  (${lines(existing)} -> ${lines(content)} line(s))`);
  const shown = content.replace(/\n$/, "").split("\n").slice(0, 20);
  for (const line of shown) console.log(`      | ${line}`);
  if (lines(content) > 20) console.log("      | …");
  console.log(`Plan: ${existing === null ? 1 : 0} to add, ${existing === null ? 0 : 1} to change, 0 to destroy.`);'
