export const GENERAL_HELP = `deploy-bot: plan, approve twice, apply, verify and roll back deployments.

Usage: deploy-bot <command> [arguments] [--as USER] [--json] [--config FILE]

Runs
  execute NAME [key=value …]   plan a deployment (waits for two approvals before changing anything)
  destroy NAME                 plan the removal of everything a deployment manages
  approve RUN                  approve the plan of a run (first approval)
  apply RUN                    confirm the apply (second approval): changes start
  cancel RUN [--reason TEXT]   cancel a run that has not started changing things
  status RUN [--wait]          show a run; --json prints it for scripts
  list [--status GROUP]        recent runs (GROUP: active, awaiting_approval, failed, all)
  logs RUN [-n N] [--follow]   a run's log, or its last N lines; --follow keeps reading
  audit RUN                    every status change of a run: who, when, via, why
  deployments                  the deployments in the config and their state

Server
  serve                        workers + the Slack bot (when Slack is configured)
  worker                       workers only, to scale out on more machines
  migrate                      apply database migrations (serve does this at start)
  db-stop                      stop the embedded PostgreSQL of this data directory
  prune [--dry-run]            remove run logs and plan artifacts past retention (daily by itself)

Identity: --as U0123ABC (a Slack user id) or DEPLOY_USER.
Database: DATABASE_URL, or an embedded PostgreSQL in DEPLOY_BOT_DATA_DIR (default ./.deploy-bot).
Config:   --config FILE, DEPLOY_CONFIG, ./deploy.config.yaml, else the bundled example.

Examples
  deploy-bot execute hello-web message="hi there" --as U0LOCALDEV --wait
  deploy-bot approve run-7k2m9x4p --as U0LOCALDEV
  deploy-bot apply run-7k2m9x4p --as U0LOCALDEV --wait
  deploy-bot status run-7k2m9x4p --json

Run "deploy-bot help COMMAND" or "deploy-bot COMMAND --help" for details.`;

const identity = '  --as USER     your Slack user id (default: DEPLOY_USER)';
const json = '  --json        print the run as JSON (the same shape as status --json)';

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  execute: `Usage: deploy-bot execute NAME [key=value …] [--as USER] [--wait] [--json]

Requests a run of deployment NAME. Variables are key=value; quote values with
spaces (msg="hello world"). The run plans, then waits for the plan approval and
the apply confirmation. If another run is working on NAME, this one is queued
and starts by itself when the deployment is free.

${identity}
  --wait, -w    wait until the run needs an approval or finishes, printing its log
${json}

Example: deploy-bot execute web-prod image_tag=1.4.2 --as U0123ABC --wait`,
  destroy: `Usage: deploy-bot destroy NAME [key=value …] [--as USER] [--wait] [--json]

Requests the removal of everything deployment NAME manages. Like execute, it
plans first (showing what will be removed) and needs both approvals.

${identity}
  --wait, -w    wait until the run needs an approval or finishes
${json}`,
  approve: `Usage: deploy-bot approve RUN [--as USER] [--plan PLAN_ID] [--json]

Approves the plan of RUN (it must be awaiting plan approval). Only the
deployment's approvers may approve, and not the requester unless the deployment
allows self-approval.

${identity}
  --plan ID     refuse if the run's plan is no longer PLAN_ID (the plan you reviewed)
${json}`,
  apply: `Usage: deploy-bot apply RUN [--as USER] [--plan PLAN_ID] [--wait] [--json]

Confirms the apply of RUN (the second approval): the changes start. The apply
runs exactly the approved plan.

${identity}
  --plan ID     refuse if the run's plan is no longer PLAN_ID
  --wait, -w    wait until the run finishes, printing its log
${json}`,
  cancel: `Usage: deploy-bot cancel RUN [--reason TEXT] [--as USER] [--json]

Cancels RUN. Allowed until changes start (queued, pending, initializing,
planning and both approval steps); refused while applying, destroying,
verifying or rolling back. Nothing changes on cancel.

${identity}
  --reason TEXT why (recorded and shown)
${json}`,
  status: `Usage: deploy-bot status RUN [--json] [--wait]

Shows RUN: status, phase, plan, approvals, outputs, error and recovery hint.

${json}
  --wait, -w    wait until the run needs an approval or finishes`,
  list: `Usage: deploy-bot list [--status GROUP|STATUS,…] [--deployment NAME] [--environment ENV] [--requester USER] [--limit N] [--json]

Lists recent runs, newest first. GROUP is one of active, awaiting_approval,
failed, all; or give statuses separated by commas. --requester: the runs a user
id (U…) asked for.`,
  logs: `Usage: deploy-bot logs RUN [-n N] [--follow] [--json]

Prints the log of RUN (sensitive values are redacted).

  -n, --tail N  only the last N lines
  -f, --follow  keep printing new lines until the run finishes (Ctrl-C to stop)
  --json        one JSON object per line`,
  audit: `Usage: deploy-bot audit RUN [--json]

Every status change of RUN: from, to, who, via (slack, cli, tui, system), when and why.`,
  deployments: `Usage: deploy-bot deployments [--json]

The deployments in the config, their usage, and whether a run is active, queued
or awaiting approval.`,
  serve: `Usage: deploy-bot serve [--concurrency N] [--config FILE]

Runs the workers and, when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or
SLACK_APP_TOKEN for Socket Mode) are set, the Slack bot, in one process.
Applies database migrations first. Stop with Ctrl-C (running steps finish first).

  --concurrency N  steps run at once by this process (default DEPLOY_WORKER_CONCURRENCY or 8)`,
  worker: `Usage: deploy-bot worker [--concurrency N] [--config FILE]

Runs workers only, against the same database: start more of them, on this or
other machines, to run more steps at once. Two workers never run the same step.`,
  migrate: `Usage: deploy-bot migrate

Applies the database migrations in drizzle/ (serve and worker do it at start).`,
  prune: `Usage: deploy-bot prune [--dry-run] [--json] [--config FILE]

Removes what the config's retention: says is past its time, as the daily
schedule of serve and worker does (03:17 UTC): the log lines of runs that ended
more than retention.runLogs ago (default 90d), and the stored plan artifacts of
runs that ended more than retention.planArtifacts ago (default 30d). Runs, their
plans and audit trails are kept; so is everything of an unfinished run and of the
last completed run of each deployment. A pruned log keeps one line saying when
and why it was removed. It works in small batches beside live runs.

  --dry-run     say what would be removed; change nothing
  --json        the report as JSON`,
  'db-stop': `Usage: deploy-bot db-stop

Stops the embedded PostgreSQL that serves DEPLOY_BOT_DATA_DIR (default ./.deploy-bot).
It starts again by itself the next time any deploy-bot command needs it.`,
};
