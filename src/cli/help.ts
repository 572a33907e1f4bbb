export const GENERAL_HELP = `deploy-bot: plan, approve twice, apply, verify and roll back deployments.

Usage: deploy-bot <command> [arguments] [--server URL | --as USER] [--json]

Runs
  execute NAME [key=value …]   plan a deployment (waits for two approvals before changing anything)
  destroy NAME                 plan the removal of everything a deployment manages
  approve RUN                  approve the plan of a run (first approval)
  apply RUN                    confirm the apply (second approval): changes start
  cancel RUN [--reason TEXT]   cancel a run that has not started changing things
  status RUN [--wait]          show a run; --json prints it for scripts
  list [--status GROUP]        recent runs (GROUP: active, awaiting_approval, failed, all)
  logs RUN [-n N] [--follow]   a run's log, or its last N lines; --follow keeps reading
  audit RUN                    every status change of a run (who, when, via, why) and each
                               evaluation of its rules (config version, rules matched, result)
  deployments                  the deployments in the config and their state

Locks
  lock NAME|env:ENV|all "why"  lock: runs may plan, no apply or destroy is confirmed until unlocked
  unlock NAME|env:ENV|all      lift a lock
  locks                        the locks in force

Signing in (remote mode)
  login --server URL           sign in through Slack (/deploy login CODE); keeps a token for URL
  logout [--server URL]        revoke this machine's token for URL and forget it
  token create --user U…       issue a token (needs database access): --name N, --expires 30d

Server
  serve                        workers + the Slack bot (when Slack is configured)
  worker                       workers only, to scale out on more machines
  migrate                      apply database migrations, the core's and the bot's (serve does this at start)
  db-stop                      stop the embedded PostgreSQL of this data directory
  secrets rotate               re-encrypt every stored secret under a new key
  prune [--dry-run]            remove what retention: says is past its time (daily by itself)
  policy check [--config FILE] validate a config's policies (rules, conditions, time zone)
  policy test RUN              replay a stored run against the published (or --config) rules

Remote:   --server URL or DEPLOY_SERVER: every run command goes through the server's API as
          the user you signed in as (deploy-bot login), or DEPLOY_TOKEN; no database or config
          here. --as and --config are refused in remote mode.
Identity: local mode (database access, an administrator): --as U0123ABC or DEPLOY_USER,
          recorded in the audit with your OS user.
Database: DATABASE_URL, or an embedded PostgreSQL in DEPLOY_BOT_DATA_DIR (default ./.deploy-bot).
Config:   serve and worker load --config FILE, DEPLOY_CONFIG, ./deploy.config.yaml, else the
          bundled example, and publish it to the database as a version; every run uses
          the version published when it was requested (configVersion in status --json).

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
Variables default to those of the deployment's last completed execute run (what
is deployed); a typed key=value overrides one. Only a deployment never applied
needs them typed. The run shows each value's origin (variableSources).

${identity}
  --wait, -w    wait until the run needs an approval or finishes
${json}`,
  approve: `Usage: deploy-bot approve RUN [--as USER] [--plan PLAN_ID] [--json]

Approves the plan of RUN (it must be awaiting plan approval). Who may approve,
and how many must, is the deployment's policy (approvals.plan; by default one of
its approvers, not the requester unless it allows self-approval). Each approval
counts once per person; the run moves on when every requirement holds, and
status shows what is still needed.

${identity}
  --plan ID     refuse if the run's plan is no longer PLAN_ID (the plan you reviewed)
${json}`,
  apply: `Usage: deploy-bot apply RUN [--as USER] [--plan PLAN_ID] [--override-reason TEXT] [--wait] [--json]

Confirms the apply of RUN (the second approval): the changes start once the
apply's requirements hold (approvals.apply; by default one approver). The apply
runs exactly the approved plan. A lock on the deployment (deploy-bot locks)
refuses it until unlocked. During a freeze window it is refused, with the
freeze's reason and when it ends, unless you are in the deployment's
override.from and say why with --override-reason (stored with your
confirmation, shown in status and audited).

${identity}
  --plan ID     refuse if the run's plan is no longer PLAN_ID
  --override-reason TEXT
                during a freeze: why the apply cannot wait (override.from only)
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

Shows RUN: status, phase, plan, approvals (each with the requirement it counted for, and
what each decision still needs when its policy asks for more than one), the freeze
window or locks holding its apply (freeze:, locked:), outputs, error and recovery hint.

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
  lock: `Usage: deploy-bot lock NAME|env:ENV|all "reason" [--as USER] [--json]
       deploy-bot lock NAME|env:ENV|all --reason TEXT

Locks a deployment, every deployment of an environment, or all of them: runs
may still plan and get their plan approved, but no apply or destroy is
confirmed until someone unlocks. The reason is required and shown on every run
the lock holds (Slack, deploy-tui, status). Who may lock (and unlock) a
deployment: its locks.from, default its approvers; an environment or all needs
that for every deployment it covers. One lock per target.

${identity}
  --reason TEXT why (instead of the words after the target)
  --json        print the lock as JSON`,
  unlock: `Usage: deploy-bot unlock NAME|env:ENV|all [--as USER] [--json]

Lifts the lock on a deployment, an environment or all (the same target it was
locked with). The same people who may lock it may unlock it.`,
  locks: `Usage: deploy-bot locks [--json]

The locks in force, oldest first: target, who locked it, via, since when, why.`,
  audit: `Usage: deploy-bot audit RUN [--json]

Every status change of RUN: from, to, who, via (slack, cli, tui, system), when and why;
and, for a deployment with rules, each evaluation of its rules (when the plan became
ready and at each decision, refused or not): the config version, the rules that
matched or failed (mode, effect) and the result (allowed, denied, failed).
--json: one list by time; each entry has "entry": "transition" or "policy".`,
  policy: `Usage: deploy-bot policy check [--config FILE] [--json]
       deploy-bot policy test RUN [--config FILE] [--at TIME] [--json]

An administrator's commands (local mode).

check  Loads a config file as serve would (--config FILE, DEPLOY_CONFIG,
       ./deploy.config.yaml) and checks its policies: every rule's condition is
       parsed and type-checked (CEL), names are unique per deployment, entries
       can be met, the time zone exists. Each problem names the file, the path
       (deployments[0].rules[1].when), the rule and the column. Prints the rules
       each deployment gets, and warns about conditions that would fail at every
       evaluation (a variable the deployment lacks or a sensitive one).
       Exit 0: valid; 2: problems.

test   Replays the stored run RUN (its kind, requester, variables without
       sensitive ones, plan, approvals so far) against the rules of the
       published config, or of a proposed one with --config FILE, and prints
       what each rule would decide (matched, failed, warn, dry-run), whether a
       decision would be refused, and what each stage would require. Changes
       nothing. Needs database access.

  --config FILE  the config to check, or the proposed config to test against
  --at TIME      evaluate at this ISO date-time instead of now (now.weekday, now.hour…)
  --json         the report as JSON`,
  deployments: `Usage: deploy-bot deployments [--json]

The deployments in the config, their usage, and whether a run is active, queued
or awaiting approval; a freeze window in force and the locks holding each.`,
  serve: `Usage: deploy-bot serve [--concurrency N] [--config FILE]

Runs the workers and, when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or
SLACK_APP_TOKEN for Socket Mode) are set, the Slack bot, in one process.
Applies database migrations first. Stop with Ctrl-C (running steps finish first).

  --concurrency N  steps run at once by this process (default DEPLOY_WORKER_CONCURRENCY or 8)
  --config FILE    the deployments config (default DEPLOY_CONFIG, ./deploy.config.yaml, else the
                   bundled example); published to the database as the current config version:
                   runs requested from then on use it. Says so when it replaces another version.`,
  worker: `Usage: deploy-bot worker [--concurrency N] [--config FILE]

Runs workers only, against the same database: start more of them, on this or
other machines, to run more steps at once. Two workers never run the same step.
A worker executes each run under the config version the run was requested
under; it publishes its own --config like serve does (and says so when that
replaces the published version).`,
  login: `Usage: deploy-bot login --server URL

Signs this machine in to deploy-bot serve at URL through Slack: prints a
one-time code; type /deploy login CODE in Slack (within 10 minutes). The bot
binds a new token to your Slack user; only this waiting process can collect
it. Prints "signed in as <@U…>" and keeps the token, per server, in
$XDG_CONFIG_HOME/deploy-bot/credentials.json (default ~/.config/deploy-bot/),
readable by you only. Then use --server URL (or DEPLOY_SERVER) with any run
command. /deploy tokens lists your tokens; /deploy logout [all] revokes them.`,
  logout: `Usage: deploy-bot logout [--server URL]

Revokes this machine's token for URL (default DEPLOY_SERVER) on the server and
deletes it here.`,
  token: `Usage: deploy-bot token create --user ID [--name N] [--expires 30d] [--json]
       deploy-bot token list --user ID
       deploy-bot token revoke TOKEN-ID|all --user ID

Local mode (needs database access: an administrator). Issues a token for a
set-up without Slack, or for an automation identity (--user automation:ci: it
may request runs over the API, never approve them). ID is a Slack user id
(U…/W…) or automation:NAME. The token is printed once on stdout; only its
sha256 is stored. It expires after --expires (default 30d; e.g. 12h, 90m),
and acts only as its user, under the same policy as a Slack click.`,
  migrate: `Usage: deploy-bot migrate

Applies the database migrations: the core's (drizzle/; serve and worker apply
them at start) and the Slack bot's own tables' (drizzle/bot/; serve applies
them at start).`,
  secrets: `Usage: deploy-bot secrets rotate

Re-encrypts every secret stored in the database (sensitive variable values,
sensitive defaults in runs' config, plan artifacts) under a new key, in one
transaction. Stop every serve and worker process first: they hold the old key.

  With the data directory's key file (no DEPLOY_SECRET_KEY): a new key is made
  and replaces DEPLOY_BOT_DATA_DIR/secret.key.
  With DEPLOY_SECRET_KEY: give the new one as DEPLOY_NEW_SECRET_KEY (32 bytes,
  base64 or hex: openssl rand -base64 32), then set DEPLOY_SECRET_KEY to it on
  every server before starting them again.`,
  prune: `Usage: deploy-bot prune [--dry-run] [--json] [--config FILE]

Removes what the config's retention: says is past its time, as the daily
schedule of serve and worker does (03:17 UTC): the log lines of runs that ended
more than retention.runLogs ago (default 90d), and the stored plan artifacts of
runs that ended more than retention.planArtifacts ago (default 30d); with
retention.audit, the audit trails of runs that ended longer ago than that, and
with retention.runs, whole runs (plan, approvals, audit trail, log) that ended
longer ago than that (both kept by default). Everything of an unfinished run and
of the last completed run of each deployment is kept. A pruned log or audit
trail keeps one entry saying when and why it was removed. It works in small batches beside live runs, resting
after each statement so that it works at most retention.pace of the time
(default 25%; retention.batchLines log lines per statement, default 1000).

  --dry-run     say what would be removed; change nothing
  --json        the report as JSON`,
  'db-stop': `Usage: deploy-bot db-stop

Stops the embedded PostgreSQL that serves DEPLOY_BOT_DATA_DIR (default ./.deploy-bot).
It starts again by itself the next time any deploy-bot command needs it.`,
};
