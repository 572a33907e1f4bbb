// deploy-tui: the live terminal dashboard. Opens the same database as the bot
// (DATABASE_URL, or the embedded PostgreSQL under DEPLOY_BOT_DATA_DIR), renders
// the app full-screen, and resolves with the exit code when the person quits.

import { isSystemActor } from '../core/text/plan.ts';
import { resolveDatabaseUrl } from '../server/embedded-postgres.ts';
import './production.ts';
import { parseArgs } from 'node:util';
import { render } from 'ink';
import { createElement as h } from 'react';
import { z } from 'zod';
import { AccountUsageError, type RemoteTarget, remoteTarget } from '../client/remote.ts';
import { DeployCore } from '../core/api/core.ts';
import { httpPort } from '../core/api/http-client.ts';
import type { Actor } from '../core/api/types.ts';
import { ConfigError, errorMessage } from '../core/errors.ts';
import type { StatusGroup } from '../core/lifecycle/statuses.ts';
import { readSettings, type Settings } from '../core/settings.ts';
import { App } from './app.ts';
import { tuiCoreReadingAs } from './data/local-core.ts';
import type { TuiCore } from './data/port.ts';
import { tuiCoreOverPort } from './data/remote-core.ts';
import { RunsStore } from './data/runs-store.ts';
import { GROUP_ORDER } from './keys.ts';
import { colourWanted, makeTheme } from './theme.ts';

export const HELP_TEXT = `deploy-tui: a live dashboard of deploy-bot runs in the terminal.

Usage: deploy-tui [--server URL | --as USER] [--status GROUP]

  --server URL     remote mode (default: DEPLOY_SERVER): the whole dashboard over
                   deploy-bot serve's API, as the user you signed in as
                   (deploy-bot login --server URL, or DEPLOY_TOKEN); no database here
  --as USER        local mode (database access, an administrator): act as this
                   Slack user id (default: DEPLOY_TUI_USER); without an identity
                   the dashboard is read-only
  --status GROUP   start with this filter: active, awaiting_approval, failed, all
                   (default: all)
  -h, --help       this help

Database: DATABASE_URL, or the embedded PostgreSQL in DEPLOY_BOT_DATA_DIR
(default ./.deploy-bot): start it from the same directory as deploy-bot.
Deployments: the config the server (deploy-bot serve) published.
Colour: set NO_COLOR=1 for none. Press ? in the dashboard for the keys.`;

type Io = { readonly out: (text: string) => void; readonly err: (text: string) => void };
const stdio: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const OPEN_TIMEOUT_MS = 20_000;

/** The database as a person can recognise it, without the password. */
export function describeDatabase(settings: Settings): string {
  if (!settings.databaseUrl) return `the embedded PostgreSQL in ${settings.dataDir}`;
  try {
    const u = new URL(settings.databaseUrl);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

async function openCore(settings: Settings): Promise<DeployCore> {
  const opening = resolveDatabaseUrl(settings).then((databaseUrl) =>
    DeployCore.open({
      databaseUrl,
      dataDir: settings.dataDir,
      poolSize: 4,
      applicationName: 'deploy-tui',
      // The dashboard owns the screen: connection trouble shows as its banner, not as text over it.
      log: () => {},
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${OPEN_TIMEOUT_MS / 1000}s`)),
      OPEN_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([opening, timeout]);
  } catch (error) {
    // If it opens after all, close it: nothing will use it.
    opening.then((core) => core.close()).catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let values: {
    as?: string | undefined;
    server?: string | undefined;
    status?: string | undefined;
    config?: string | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        as: { type: 'string' },
        server: { type: 'string' },
        status: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.err(`deploy-tui: ${errorMessage(error)}\n\n${HELP_TEXT}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP_TEXT);
    return 0;
  }
  if (values.config !== undefined) {
    io.err(
      "deploy-tui: --config is for deploy-bot serve and worker only: the dashboard shows the config the server published; to change it, edit the server's config and restart deploy-bot serve",
    );
    return 2;
  }
  const group = (values.status ?? 'all') as StatusGroup;
  if (!GROUP_ORDER.includes(group)) {
    io.err(
      `deploy-tui: --status ${values.status} is not a group; use one of ${GROUP_ORDER.join(', ')}`,
    );
    return 2;
  }
  let remote: RemoteTarget | null;
  try {
    remote = remoteTarget(values.server, process.env);
  } catch (error) {
    io.err(`deploy-tui: ${errorMessage(error)}`);
    return error instanceof AccountUsageError ? 2 : 1;
  }
  if (remote && values.as !== undefined) {
    io.err(
      `deploy-tui: --as is refused in remote mode: ${remote.server} knows who you are from your token; someone else signs in with their own deploy-bot login`,
    );
    return 2;
  }
  const actorId = remote ? '' : (values.as ?? process.env.DEPLOY_TUI_USER ?? '').trim();
  let actor: Actor | null = actorId ? { id: actorId, via: 'tui' } : null;
  if (isSystemActor(actorId)) {
    io.err('deploy-tui: "system" is not a person: give your Slack user id (U…)');
    return 2;
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    io.err('deploy-tui: needs an interactive terminal (use deploy-bot list / status for scripts)');
    return 2;
  }

  let settings: Settings;
  try {
    settings = readSettings(process.env);
  } catch (error) {
    io.err(`deploy-tui: ${errorMessage(error)}`);
    return 1;
  }
  let core: TuiCore & { close(): Promise<void> };
  try {
    if (remote) {
      const port = httpPort({
        server: remote.server,
        token: remote.token,
        client: 'tui',
        runsInChanges: true,
      });
      // Who the token acts as: shown, and it turns the action keys on.
      const me = z.object({ user: z.string() }).parse(await port.me());
      actor = { id: me.user, via: 'tui' };
      core = { ...tuiCoreOverPort(port, () => port.me()), close: () => port.close() };
    } else core = tuiCoreReadingAs(await openCore(settings), actor);
  } catch (error) {
    if (remote) {
      io.err(`deploy-tui: ${errorMessage(error)}`);
      return 1;
    }
    if (error instanceof ConfigError) io.err(`deploy-tui: ${error.message}`);
    else {
      io.err(
        `deploy-tui: cannot reach the database (${describeDatabase(settings)}): ${errorMessage(error)}\n` +
          'Is deploy-bot running, and is DATABASE_URL (or DEPLOY_BOT_DATA_DIR) the same as for deploy-bot?',
      );
    }
    return 1;
  }

  const store = new RunsStore(core, { query: { group, deployment: null, environment: null } });
  let crash: Error | null = null;
  try {
    await store.start();
    const app = render(
      h(App, {
        core,
        store,
        actor,
        theme: makeTheme(colourWanted()),
        onCrash: (error) => {
          crash = error;
        },
      }),
      {
        alternateScreen: true,
        incrementalRendering: true,
        // CI=true in the environment must not turn a real terminal into a log.
        interactive: true,
        exitOnCtrlC: true,
        patchConsole: true,
        maxFps: 30,
      },
    );
    await app.waitUntilExit();
    return 0;
  } catch (error) {
    io.err(`deploy-tui: ${errorMessage(error)}`);
    return 1;
  } finally {
    await store.close();
    await core.close();
    const crashed = crash as Error | null;
    if (crashed && process.env.DEPLOY_DEBUG) io.err(String(crashed.stack));
  }
}
