// deploy-bot: the operator CLI and the server. Script-friendly: --json prints
// the run as `status --json` does; a refusal exits 1 with its message on stderr;
// wrong usage exits 2.

import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { migrateBotTables } from '../bot/store/migrate.ts';
import { AccountUsageError, remoteTarget } from '../client/remote.ts';
import { DeployCore } from '../core/api/core.ts';
import { ApiError, httpPort } from '../core/api/http-client.ts';
import { type DeployPort, localPort } from '../core/api/port.ts';
import type { Actor, RunView } from '../core/api/types.ts';
import { ConfigError, errorMessage, isRefusal } from '../core/errors.ts';
import { describeSandbox, sandboxStatus } from '../core/executors/sandbox.ts';
import {
  isRunStatus,
  isTerminal,
  RUN_STATUSES,
  type RunStatus,
  STATUS_GROUPS,
} from '../core/lifecycle/statuses.ts';
import {
  describeLockTarget,
  formatInstant,
  lockTargetText,
  parseLockTarget,
} from '../core/policy/lock-target.ts';
import { readSettings, type Settings } from '../core/settings.ts';
import { connect, migrateDatabase } from '../core/store/database.ts';
import {
  configureSecrets,
  currentKey,
  encodeKey,
  keyFileOf,
  newKey,
} from '../core/store/secrets.ts';
import { rotateSecrets } from '../core/store/secrets-rotate.ts';
import { ArgsError, splitAssignments } from '../core/variables/args.ts';
import { resolveDatabaseUrl, stopEmbeddedPostgres } from '../server/embedded-postgres.ts';
import { login, logout, osUser, tokenCommand } from './account.ts';
import { formatDeployment, formatLock, formatLogLine, formatRun, formatRunRow } from './format.ts';
import { COMMAND_HELP, GENERAL_HELP } from './help.ts';
import { auditEntries, formatEvaluation, PolicyUsageError, policyCommand } from './policy.ts';
import { pruneCommand } from './prune.ts';
import { refusalSentence } from './refusals.ts';
import { serve } from './serve.ts';

class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Io = { out: (text: string) => void; err: (text: string) => void };
const stdio: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const FLAGS = {
  as: { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  follow: { type: 'boolean', short: 'f' },
  tail: { type: 'string', short: 'n' },
  reason: { type: 'string' },
  deployment: { type: 'string' },
  environment: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  wait: { type: 'boolean', short: 'w' },
  plan: { type: 'string' },
  concurrency: { type: 'string' },
  server: { type: 'string' },
  user: { type: 'string' },
  name: { type: 'string' },
  expires: { type: 'string' },
  'dry-run': { type: 'boolean' },
  requester: { type: 'string' },
  at: { type: 'string' },
  'override-reason': { type: 'string' },
} as const;

const positiveInt = (flag: string) =>
  z.coerce
    .number({ error: `--${flag} takes a whole number` })
    .int(`--${flag} takes a whole number`)
    .positive(`--${flag} must be above 0`);

function statusFilter(value: string | undefined): RunStatus[] | undefined {
  if (value === undefined) return undefined;
  if (value in STATUS_GROUPS) return [...STATUS_GROUPS[value as keyof typeof STATUS_GROUPS]];
  const statuses: RunStatus[] = [];
  for (const s of value.split(',').map((part) => part.trim())) {
    if (isRunStatus(s)) statuses.push(s);
    else {
      throw new UsageError(
        `--status ${s} is not a status; use one of ${Object.keys(STATUS_GROUPS).join(', ')} or: ${RUN_STATUSES.join(', ')}`,
      );
    }
  }
  return statuses;
}

type Parsed = {
  values: {
    [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]['type'] extends 'string' ? string : boolean;
  };
  positionals: string[];
};

function parse(argv: string[]): Parsed {
  try {
    return parseArgs({
      args: argv,
      options: FLAGS,
      allowPositionals: true,
      strict: true,
    }) as Parsed;
  } catch (error) {
    throw new UsageError(errorMessage(error).replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

/**
 * Local mode: database access is administrator access, and the identity is
 * whatever --as (or DEPLOY_USER) says; the audit records it as such, with the
 * OS user who ran the command.
 */
function actorOf(parsed: Parsed, settings: Settings): Actor {
  const id = parsed.values.as ?? settings.user;
  if (!id) {
    throw new UsageError('who is acting? Pass --as U… (your Slack user id) or set DEPLOY_USER');
  }
  const how = parsed.values.as !== undefined ? '--as' : 'DEPLOY_USER';
  return { id, via: 'cli', credential: `${how} with database access (OS user ${osUser()})` };
}

function need(positionals: string[], index: number, what: string, command: string): string {
  const value = positionals[index];
  if (!value) throw new UsageError(`${command} needs ${what}\n\n${COMMAND_HELP[command] ?? ''}`);
  return value;
}

/** A client of the server's config: runs use the version serve/worker published. */
async function openCore(settings: Settings, migrate = true) {
  return DeployCore.open({
    databaseUrl: await resolveDatabaseUrl(settings),
    dataDir: settings.dataDir,
    migrate,
    poolSize: 4,
    applicationName: 'deploy-bot:cli',
  });
}

/** Waits until the run needs a person or is finished; prints log lines meanwhile unless --json. */
async function waitForRun(
  core: DeployPort,
  run: RunView,
  io: Io,
  quiet: boolean,
  /** Print log lines after this one (taken before the action that started the step). */
  afterLogId?: number,
): Promise<RunView> {
  const settled = (r: RunView) =>
    isTerminal(r.status) ||
    r.status === 'awaiting_plan_approval' ||
    r.status === 'awaiting_apply_approval';
  let current = run;
  let resolveChange: () => void = () => {};
  const unsubscribe = await core.followRuns((change) => {
    if (change.runId === run.id) resolveChange();
  });
  const from = afterLogId ?? (await core.readLogs(run.id, { tail: 1 }))[0]?.id ?? 0;
  const stopLogs = quiet
    ? null
    : await core.followLogs(
        run.id,
        (lines) => {
          for (const l of lines) io.out(formatLogLine(l));
        },
        { afterId: from },
      );
  try {
    while (!settled(current)) {
      await new Promise<void>((resolve) => {
        resolveChange = resolve;
        setTimeout(resolve, 2000).unref();
      });
      current = await core.getRun(run.id);
    }
    return current;
  } finally {
    await unsubscribe();
    await stopLogs?.();
  }
}

function printRun(run: RunView, json: boolean | undefined, io: Io) {
  io.out(json ? JSON.stringify(run, null, 2) : formatRun(run));
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [command = 'help', ...rest] = argv;
  try {
    if (command === 'help' || command === '--help' || command === '-h') {
      const topic = rest[0];
      io.out(topic && COMMAND_HELP[topic] ? COMMAND_HELP[topic] : GENERAL_HELP);
      return 0;
    }
    if (command === '--version') {
      io.out('deploy-bot 0.1.0');
      return 0;
    }
    if (!(command in COMMAND_HELP)) {
      throw new UsageError(`unknown command "${command}"\n\n${GENERAL_HELP}`);
    }
    const parsed = parse(rest);
    if (parsed.values.help) {
      io.out(COMMAND_HELP[command]!);
      return 0;
    }
    const settings = readSettings(process.env, { config: parsed.values.config });
    return await runCommand(command, parsed, settings, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ArgsError) {
      io.err(`deploy-bot: ${error.message}`);
      return 2;
    }
    if (error instanceof z.ZodError) {
      io.err(`deploy-bot: ${error.issues.map((i) => i.message).join('; ')}`);
      return 2;
    }
    if (error instanceof AccountUsageError || error instanceof PolicyUsageError) {
      io.err(`deploy-bot: ${error.message}`);
      return 2;
    }
    if (isRefusal(error) || error instanceof ApiError) {
      const details = isRefusal(error) ? error.details : {};
      io.err(`deploy-bot: ${refusalSentence(error.code, error.message, details)}`);
      return 1;
    }
    if (error instanceof ConfigError) {
      io.err(`deploy-bot: ${error.message}`);
      return 1;
    }
    io.err(`deploy-bot: ${errorMessage(error)}`);
    if (process.env.DEPLOY_DEBUG) io.err(String((error as Error).stack));
    return 1;
  }
}

async function runCommand(
  command: string,
  parsed: Parsed,
  settings: Settings,
  io: Io,
): Promise<number> {
  const { values, positionals } = parsed;
  switch (command) {
    case 'migrate': {
      const url = await resolveDatabaseUrl(settings);
      await migrateDatabase(url);
      await migrateBotTables(url);
      io.out(
        `database migrated (${settings.databaseUrl ? 'DATABASE_URL' : `embedded, data in ${settings.dataDir}`})`,
      );
      return 0;
    }
    case 'secrets': {
      if (positionals[0] !== 'rotate')
        throw new UsageError(`secrets needs a subcommand: rotate\n\n${COMMAND_HELP.secrets}`);
      return rotateSecretKey(settings, io);
    }
    case 'db-stop': {
      const stopped = await stopEmbeddedPostgres(settings.dataDir);
      io.out(
        stopped
          ? `stopped the embedded PostgreSQL of ${settings.dataDir}`
          : 'no embedded PostgreSQL is running there',
      );
      return 0;
    }
    case 'serve':
    case 'worker':
      return serve({ settings, withBot: command === 'serve', concurrency: values.concurrency, io });
    case 'login':
      return login(values.server, process.env, io);
    case 'logout':
      return logout(values.server, process.env, io);
    case 'token':
      return tokenCommand(positionals, values, settings, io);
    case 'policy':
      if ((values.server ?? process.env.DEPLOY_SERVER) !== undefined)
        throw new UsageError(
          'policy is an administrator’s command (local mode): check reads a config file; test reads the database where DATABASE_URL (or the data directory) reaches it. Run it without --server or DEPLOY_SERVER',
        );
      return policyCommand(
        positionals,
        settings,
        { json: Boolean(values.json), proposed: values.config !== undefined, at: values.at },
        io,
      );
    case 'prune':
      if (remoteTarget(values.server, process.env))
        throw new UsageError(
          'prune needs database access (local mode): run it where DATABASE_URL (or the data directory) reaches the database, without --server or DEPLOY_SERVER',
        );
      return pruneCommand(
        settings,
        { dryRun: Boolean(values['dry-run']), json: Boolean(values.json) },
        io,
      );
  }
  const remote = remoteTarget(values.server, process.env);
  if (remote && values.as !== undefined) {
    throw new UsageError(
      `--as is refused in remote mode: ${remote.server} knows who you are from your token${remote.user ? ` (signed in as ${remote.user})` : ''}; someone else signs in with their own deploy-bot login`,
    );
  }
  if (values.config !== undefined) {
    throw new UsageError(
      remote
        ? `--config is refused in remote mode: runs use the config ${remote.server} published (deploy-bot status RUN shows its configVersion)`
        : `--config is for serve and worker only: a run always uses the config the server published (deploy-bot status RUN shows its configVersion); to change it, edit the server's config and restart deploy-bot serve`,
    );
  }

  const core: DeployPort = remote
    ? httpPort({
        server: remote.server,
        token: remote.token,
        client: 'cli',
        // A lost stream reconnects by itself; say so rather than go quiet.
        onTrouble: (message) => io.err(`deploy-bot: ${message}`),
      })
    : localPort(await openCore(settings), () => actorOf(parsed, settings), { closeCore: true });
  try {
    switch (command) {
      case 'execute':
      case 'destroy': {
        const name = need(positionals, 0, 'a deployment name', command);
        const { words, assignments } = splitAssignments(positionals.slice(1));
        if (words.length > 0) {
          throw new UsageError(
            `unexpected "${words.join(' ')}": variables are key=value, e.g. image_tag=1.4.2`,
          );
        }
        let run = await core.requestRun({
          deployment: name,
          kind: command === 'destroy' ? 'destroy' : 'execute',
          variables: assignments,
        });
        if (!values.json && run.status === 'queued') {
          io.err(
            `${name} is busy: ${run.id} is queued behind ${run.queue?.behind ?? 'another run'} and starts by itself when it finishes`,
          );
        }
        if (values.wait) run = await waitForRun(core, run, io, Boolean(values.json));
        printRun(run, values.json, io);
        return 0;
      }
      case 'approve': {
        const run = await core.approvePlan(need(positionals, 0, 'a run id', command), {
          planId: values.plan,
        });
        printRun(run, values.json, io);
        return 0;
      }
      case 'apply': {
        const runId = need(positionals, 0, 'a run id', command);
        // The apply may finish before we look: remember where its log starts.
        const before = (await core.readLogs(runId, { tail: 1 }))[0]?.id ?? 0;
        let run = await core.confirmApply(runId, {
          planId: values.plan,
          overrideReason: values['override-reason'],
        });
        if (values.wait) run = await waitForRun(core, run, io, Boolean(values.json), before);
        printRun(run, values.json, io);
        return 0;
      }
      case 'cancel': {
        const run = await core.cancelRun(need(positionals, 0, 'a run id', command), {
          reason: values.reason,
        });
        printRun(run, values.json, io);
        return 0;
      }
      case 'status': {
        let run = await core.getRun(need(positionals, 0, 'a run id', command));
        if (values.wait) run = await waitForRun(core, run, io, Boolean(values.json));
        printRun(run, values.json, io);
        return 0;
      }
      case 'list': {
        const limit = values.limit === undefined ? 20 : positiveInt('limit').parse(values.limit);
        const { items: runs } = await core.listRuns({
          deployment: values.deployment,
          environment: values.environment,
          statuses: statusFilter(values.status),
          requestedBy: values.requester,
          limit,
        });
        if (values.json) io.out(JSON.stringify(runs, null, 2));
        else if (runs.length === 0) io.out('no runs yet: start one with deploy-bot execute NAME');
        else for (const r of runs) io.out(formatRunRow(r));
        return 0;
      }
      case 'deployments': {
        const deployments = await core.listDeployments();
        if (values.json) io.out(JSON.stringify(deployments, null, 2));
        else {
          const sandbox = sandboxStatus();
          if (sandbox.warning) io.err(`warning: ${sandbox.warning}`);
          for (const d of deployments) io.out(formatDeployment(d));
          io.out(describeSandbox(sandbox));
        }
        return 0;
      }
      case 'logs': {
        const runId = need(positionals, 0, 'a run id', command);
        const tail = values.tail === undefined ? undefined : positiveInt('tail').parse(values.tail);
        const run = await core.getRun(runId);
        const lines = await core.readLogs(runId, tail === undefined ? { limit: 10_000 } : { tail });
        for (const l of lines) io.out(values.json ? JSON.stringify(l) : formatLogLine(l));
        if (!values.follow || isTerminal(run.status)) return 0;
        const last = lines.at(-1)?.id ?? 0;
        await new Promise<void>((resolve) => {
          let unsubscribeRuns: (() => Promise<void>) | null = null;
          let stopLogs: (() => Promise<void>) | null = null;
          const finish = async () => {
            await unsubscribeRuns?.();
            await stopLogs?.();
            resolve();
          };
          void (async () => {
            stopLogs = await core.followLogs(
              runId,
              (batch) => {
                for (const l of batch) io.out(values.json ? JSON.stringify(l) : formatLogLine(l));
              },
              { afterId: last },
            );
            unsubscribeRuns = await core.followRuns(async (change) => {
              if (change.runId === runId && isTerminal(change.status)) {
                // Let the last lines arrive before leaving.
                setTimeout(() => void finish(), 300);
              }
            });
            process.once('SIGINT', () => void finish());
          })();
        });
        return 0;
      }
      case 'lock':
      case 'unlock': {
        const target = parseLockTarget(
          need(positionals, 0, 'a deployment, env:ENV or all', command),
        );
        if (target === null)
          throw new UsageError(
            `${command} takes a deployment name, env:ENVIRONMENT or all\n\n${COMMAND_HELP[command]}`,
          );
        const words = positionals.slice(1).join(' ');
        if (command === 'unlock' && (words !== '' || values.reason !== undefined))
          throw new UsageError(`unlock takes no reason\n\n${COMMAND_HELP.unlock}`);
        if (command === 'lock' && words !== '' && values.reason !== undefined)
          throw new UsageError('give the reason once: after the target or with --reason');
        const lock =
          command === 'lock'
            ? await core.lock(target, values.reason ?? words)
            : await core.unlock(target);
        if (values.json) io.out(JSON.stringify(lock, null, 2));
        else
          io.out(
            command === 'lock'
              ? `locked ${describeLockTarget(lock)}: “${lock.reason}”. Runs may plan; no apply or destroy is confirmed until deploy-bot unlock ${lockTargetText(lock)}`
              : `unlocked ${describeLockTarget(lock)} (locked by ${lock.by} since ${formatInstant(lock.at)}: “${lock.reason}”)`,
          );
        return 0;
      }
      case 'locks': {
        const locks = await core.listLocks();
        if (values.json) io.out(JSON.stringify(locks, null, 2));
        else if (locks.length === 0) io.out('nothing is locked');
        else for (const l of locks) io.out(formatLock(l));
        return 0;
      }
      case 'audit': {
        const runId = need(positionals, 0, 'a run id', command);
        const [transitions, evaluations] = await Promise.all([
          core.audit(runId),
          core.policyAudit(runId),
        ]);
        const entries = auditEntries(transitions, evaluations);
        if (values.json) io.out(JSON.stringify(entries, null, 2));
        else {
          for (const t of entries) {
            io.out(
              t.entry === 'policy'
                ? formatEvaluation(t)
                : `${t.at}  ${(t.from ?? '—').padEnd(24)} → ${t.to.padEnd(24)} ${t.actor} (${t.via})${t.reason ? `: ${t.reason}` : ''}${t.credential ? ` [${t.credential}]` : ''}`,
            );
          }
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    await core.close();
  }
}

/** `deploy-bot secrets rotate`: every stored secret under a new key, then the key replaced. */
async function rotateSecretKey(settings: Settings, io: Io): Promise<number> {
  const url = await resolveDatabaseUrl(settings);
  configureSecrets({ dataDir: settings.dataDir });
  const from = currentKey();
  const fromEnv = Boolean(process.env.DEPLOY_SECRET_KEY);
  if (fromEnv && !process.env.DEPLOY_NEW_SECRET_KEY)
    throw new UsageError(
      'DEPLOY_SECRET_KEY is set: give the new key as DEPLOY_NEW_SECRET_KEY (openssl rand -base64 32)',
    );
  const to = newKey(process.env.DEPLOY_NEW_SECRET_KEY);
  const keyFile = keyFileOf(settings.dataDir);
  // The new key is on disk before any row uses it: a crash loses nothing.
  if (!fromEnv) writeFileSync(`${keyFile}.new`, `${encodeKey(to)}\n`, { mode: 0o600 });
  const connection = connect(url, { max: 2, applicationName: 'deploy-bot:secrets' });
  try {
    const rotated = await rotateSecrets(connection.db, from, to);
    if (!fromEnv) renameSync(`${keyFile}.new`, keyFile);
    io.out(
      `re-encrypted the secrets of ${rotated.runs} run(s), ${rotated.artifacts} plan artifact(s) and ${rotated.configVersions} published config version(s) under the new key (id ${to.id}; was ${from.id})`,
    );
    io.out(
      fromEnv
        ? 'now set DEPLOY_SECRET_KEY to the new key on every server, then start them again'
        : `the new key is in ${keyFile}; copy it to every other server that shares this database`,
    );
    return 0;
  } finally {
    await connection.close();
  }
}
