// `deploy-bot prune [--dry-run] [--json]`: the retention pass the daily
// schedule runs, now; with --dry-run, what it would remove, changing nothing.
// An administrator's command: it needs database access (local mode), and the
// retention of the server's config file (DEPLOY_CONFIG, --config).

import { loadConfig } from '../core/config/load.ts';
import { describePrune, pruneHistory } from '../core/retention/prune.ts';
import { DEFAULT_RETENTION, describeKeep, describePace } from '../core/retention/settings.ts';
import type { Settings } from '../core/settings.ts';
import { connect } from '../core/store/database.ts';
import { resolveDatabaseUrl } from '../server/embedded-postgres.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

export async function pruneCommand(
  settings: Settings,
  options: { dryRun: boolean; json: boolean },
  io: Io,
): Promise<number> {
  const retention = loadConfig(settings.configFile).retention ?? DEFAULT_RETENTION;
  const connection = connect(await resolveDatabaseUrl(settings), {
    max: 2,
    applicationName: 'deploy-bot:prune',
  });
  try {
    const report = await pruneHistory(connection.sql, retention, { dryRun: options.dryRun });
    if (options.json) {
      io.out(JSON.stringify(report, null, 2));
      return 0;
    }
    io.out(
      `retention (${settings.configFile}): run logs ${describeKeep(retention.runLogs)}, plan artifacts ${describeKeep(retention.planArtifacts)} after the run ends; runs ${describeKeep(retention.runs)}, audit trails ${retention.audit === null ? 'kept as long as their run' : describeKeep(retention.audit)}; ${describePace(retention)}`,
    );
    io.out(describePrune(report));
    if (options.dryRun) io.out('dry run: nothing was removed (run without --dry-run to remove it)');
    return 0;
  } finally {
    await connection.close();
  }
}
