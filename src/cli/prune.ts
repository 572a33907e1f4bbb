// `deploy-bot prune [--dry-run] [--json]`: the retention pass the daily
// schedule runs, now; with --dry-run, what it would remove, changing nothing.

import type { DeployCore } from '../core/api/core.ts';
import { loadConfig } from '../core/config/load.ts';
import { describePrune, pruneHistory } from '../core/retention/prune.ts';
import { DEFAULT_RETENTION, describeKeep } from '../core/retention/settings.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

export async function pruneCommand(
  core: DeployCore,
  options: { dryRun: boolean; json: boolean },
  io: Io,
): Promise<number> {
  const retention = loadConfig(core.configFile).retention ?? DEFAULT_RETENTION;
  const report = await pruneHistory(core.connection.sql, retention, { dryRun: options.dryRun });
  if (options.json) {
    io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  io.out(
    `retention (${core.configFile}): run logs ${describeKeep(retention.runLogs)}, plan artifacts ${describeKeep(retention.planArtifacts)} after the run ends; runs and audit kept`,
  );
  io.out(describePrune(report));
  if (options.dryRun) io.out('dry run: nothing was removed (run without --dry-run to remove it)');
  return 0;
}
