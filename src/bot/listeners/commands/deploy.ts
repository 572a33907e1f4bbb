// `/deploy …`: acknowledge at once (Slack's 3 seconds do not depend on the
// database, the queue or the executors), then parse, call the core, and answer
// the person with an ephemeral reply through the command's response_url.
// The run message itself is posted in the channel by the outbox.

import type { App } from '@slack/bolt';
import type { Actor } from '../../../core/api/types.ts';
import { isRefusal, type Refusal } from '../../../core/errors.ts';
import { checkChannel } from '../../../core/lifecycle/policy.ts';
import { STATUS_GROUPS } from '../../../core/lifecycle/statuses.ts';
import { renderDeploymentHelp, renderHelp, usageLine } from '../../render/help.ts';
import {
  renderCancelled,
  renderDeploymentList,
  renderErrorReply,
  renderLogsReply,
  renderProblem,
  renderRunAccepted,
  renderRunList,
  renderRunStatus,
} from '../../render/replies.ts';
import { slackCommandText } from '../../slack/command-text.ts';
import { type SlashCommand, slashCommandSchema } from '../../slack/payloads.ts';
import { createReply, type Reply } from '../../slack/respond.ts';
import {
  createMessageRow,
  forgetRequest,
  recordRequest,
  setRequestRun,
} from '../../store/messages.ts';
import type { BotContext } from '../context.ts';
import { openDeployForm } from '../views/deploy-form.ts';
import { handleHistory, historyTarget } from './history.ts';
import { handleLockCommand } from './locks.ts';
import { handleAccountCommand } from './login.ts';
import { closestSubcommand, type DeployRequest, parseDeployText, usageOf } from './parse.ts';

const RUN_ID = /^run-[0-9a-z]{4,40}$/;

export function registerDeployCommand(app: App, ctx: BotContext): void {
  app.command(ctx.command, async ({ ack, body, context }) => {
    await ack();
    const parsed = slashCommandSchema.safeParse(body);
    if (!parsed.success) {
      ctx.log.warn('malformed slash command', { issues: parsed.error.issues.length });
      return;
    }
    // No arguments: the form (help when it cannot be opened, e.g. an expired trigger).
    if (
      slackCommandText(parsed.data.text).trim() === '' &&
      (await openDeployForm(ctx, {
        triggerId: parsed.data.trigger_id,
        user: parsed.data.user_id,
        channel: parsed.data.channel_id,
      }))
    ) {
      return;
    }
    const history = historyTarget(slackCommandText(parsed.data.text));
    if (history !== null) {
      await handleHistory(ctx, parsed.data, history.name).catch((error: unknown) =>
        ctx.log.error('history failed', { error }),
      );
      return;
    }
    await handleDeployCommand(ctx, parsed.data, context.retryNum);
  });
}

/** Everything after the ack. Never throws: problems become replies and log lines. */
export async function handleDeployCommand(
  ctx: BotContext,
  cmd: SlashCommand,
  retryNum?: number,
): Promise<void> {
  const started = Date.now();
  const log = ctx.log.child({ userId: cmd.user_id, channel: cmd.channel_id, command: cmd.command });
  const reply = createReply(
    { responseUrl: cmd.response_url, channel: cmd.channel_id, user: cmd.user_id },
    { client: ctx.client, log },
  );
  const actor: Actor = { id: cmd.user_id, via: 'slack', channel: cmd.channel_id };
  try {
    // `/deploy login|logout|tokens` (login.ts): signing in the CLI and deploy-tui.
    if (await handleAccountCommand(ctx, cmd, slackCommandText(cmd.text), reply)) return;
    // `/deploy lock|unlock|locks` (locks.ts): ad hoc locks.
    if (await handleLockCommand(ctx, cmd, slackCommandText(cmd.text), reply)) return;
  } catch (error) {
    log.error('command failed', { error });
    await reply(
      renderErrorReply(
        'deploy-bot could not do that',
        error instanceof Error ? error.message : String(error),
      ),
    );
    return;
  }
  const request = parseDeployText(slackCommandText(cmd.text), ctx.command);
  log.info('command', {
    kind: request.kind,
    ...(retryNum !== undefined ? { retryNum } : {}),
  });
  try {
    await dispatch(ctx, { cmd, request, reply, actor, retryNum });
  } catch (error) {
    if (isRefusal(error)) {
      await reply(refusalReply(ctx, error, request));
      log.info('refused', { code: error.code });
    } else {
      log.error('command failed', { error });
      await reply(
        renderErrorReply(
          'deploy-bot could not do that',
          error instanceof Error ? error.message : String(error),
        ),
      );
    }
  } finally {
    log.debug('command done', { ms: Date.now() - started });
  }
}

type Dispatch = {
  readonly cmd: SlashCommand;
  readonly request: DeployRequest;
  readonly reply: Reply;
  readonly actor: Actor;
  readonly retryNum: number | undefined;
};

function refusalReply(ctx: BotContext, refusal: Refusal, request: DeployRequest) {
  const command = ctx.command;
  switch (refusal.code) {
    case 'unknown_deployment': {
      const closest = typeof refusal.details.closest === 'string' ? refusal.details.closest : null;
      if (closest === null && request.kind === 'run' && request.bare) {
        const sub = closestSubcommand(request.deployment);
        if (sub !== null) {
          return renderProblem(
            `"${request.deployment}" is neither a command nor a deployment: did you mean ${command} ${sub}?`,
            { usage: usageOf(sub, command) },
          );
        }
      }
      return renderProblem(refusal.message, {
        usage: usageOf('run', command),
        hint: `\`${command} list\` shows the deployments you can run here.`,
      });
    }
    case 'invalid_variables': {
      const problems = Array.isArray(refusal.details.problems)
        ? refusal.details.problems.filter((p): p is string => typeof p === 'string')
        : [];
      const usage =
        request.kind === 'run'
          ? deploymentUsage(ctx, request.deployment, request.runKind === 'destroy')
          : null;
      return renderProblem(
        problems.length > 1 ? `${problems.length} problems with the variables:` : refusal.message,
        {
          details: problems,
          usage: usage !== null ? [usage] : usageOf('run', command),
          hint: 'Values with spaces go in quotes: `msg="hello world"`.',
        },
      );
    }
    case 'unknown_run':
      return renderProblem(`${refusal.message} (${command} status shows recent runs)`, {
        usage:
          request.kind === 'logs'
            ? usageOf('logs', command)
            : request.kind === 'cancel'
              ? usageOf('cancel', command)
              : usageOf('status', command),
      });
    default:
      return renderProblem(refusal);
  }
}

/** The usage line of a deployment (never with a sensitive default), or null. */
function deploymentUsage(ctx: BotContext, name: string, destroy = false): string | null {
  try {
    const deployment = ctx.core.deployment(name);
    const command = destroy ? `${ctx.command} destroy` : ctx.command;
    return usageLine(command, deployment.name, deployment.variables);
  } catch {
    return null;
  }
}

async function dispatch(ctx: BotContext, d: Dispatch): Promise<void> {
  const { request, reply, actor, cmd } = d;
  const { core, command } = ctx;
  switch (request.kind) {
    case 'usage':
      return reply(renderProblem(request.problem, { usage: request.usage }));

    case 'help': {
      if (request.deployment !== null) {
        const view = (await core.listDeployments()).find((v) => v.name === request.deployment);
        if (!view) core.deployment(request.deployment); // throws the refusal with the closest name
        if (!view) return;
        checkChannel(core.deployment(view.name), actor);
        return reply(
          renderDeploymentHelp(
            { ...view, usage: usageLine(command, view.name, view.variables) },
            command,
          ),
        );
      }
      const deployments = await core.listDeployments(actor).catch(() => []);
      return reply(
        renderHelp({
          command,
          deployments: deployments.map((v) => ({
            ...v,
            usage: usageLine(command, v.name, v.variables),
          })),
        }),
      );
    }

    case 'list':
      return reply(renderDeploymentList(await core.listDeployments(actor), { command }));

    case 'run':
      return requestRun(ctx, d, request);

    case 'status': {
      const target = request.target;
      if (target === null) {
        const visible = new Set((await core.listDeployments(actor)).map((v) => v.name));
        const runs = (await core.listRuns({ statuses: STATUS_GROUPS.active, limit: 200 })).filter(
          (r) => visible.has(r.deployment),
        );
        return reply(
          renderRunList('Active runs', runs.slice(0, 40), {
            command,
            empty: `No runs are active. Start one with ${command} <deployment>.`,
          }),
        );
      }
      if (RUN_ID.test(target)) {
        const run = await readableRun(ctx, target, actor);
        const tail = (await core.readLogs(run.id, { tail: 12 })).map((l) => l.line);
        return reply(renderRunStatus(run, { logTail: tail, command, now: new Date() }));
      }
      const deployment = core.deployment(target);
      checkChannel(deployment, actor);
      const runs = await core.listRuns({ deployment: deployment.name, limit: 15 });
      return reply(
        renderRunList(`Recent runs of ${deployment.name} (${deployment.environment})`, runs, {
          command,
          empty: `${deployment.name} has no runs yet.`,
        }),
      );
    }

    case 'logs': {
      const run = await readableRun(ctx, request.runId, actor);
      const lines = (await core.readLogs(run.id, { tail: request.lines })).map((l) => l.line);
      return reply(renderLogsReply(run, lines, { requested: request.lines, command }));
    }

    case 'cancel': {
      const run = await once(ctx, d, 'cancel', () =>
        core.cancelRun(request.runId, actor, {
          reason: request.reason ?? `cancelled by <@${cmd.user_id}> from Slack`,
        }),
      );
      if (run === null) return;
      ctx.outbox.poke(run.id);
      return reply(renderCancelled(run));
    }
  }
}

/**
 * A run for reading (status, logs): what it shows is meant for its deployment's
 * channels only, so every read answers the channel rule, as running it does.
 */
async function readableRun(ctx: BotContext, runId: string, actor: Actor) {
  const run = await ctx.core.getRun(runId);
  checkChannel(ctx.core.deployment(run.deployment), actor);
  return run;
}

/**
 * Acts once per Slack invocation (keyed by its trigger_id): a retried or
 * duplicated delivery gets null and does nothing. A refusal changed nothing, so
 * its key is forgotten and a retry is answered again; after any other error
 * the outcome is unknown and the key stays (never two runs for one command).
 */
async function once<T extends { id: string }>(
  ctx: BotContext,
  d: Dispatch,
  kind: string,
  act: () => Promise<T>,
): Promise<T | null> {
  const key = `cmd:${d.cmd.trigger_id}`;
  if (!(await recordRequest(ctx.core.store, key, kind))) {
    ctx.log.info('duplicate delivery of a command: not acted on again', {
      triggerId: d.cmd.trigger_id,
      retryNum: d.retryNum,
    });
    return null;
  }
  try {
    const result = await act();
    await setRequestRun(ctx.core.store, key, result.id).catch(() => {});
    return result;
  } catch (error) {
    if (isRefusal(error)) await forgetRequest(ctx.core.store, key).catch(() => {});
    throw error;
  }
}

async function requestRun(
  ctx: BotContext,
  d: Dispatch,
  request: Extract<DeployRequest, { kind: 'run' }>,
): Promise<void> {
  const run = await once(ctx, d, request.runKind, () =>
    ctx.core.requestRun({
      deployment: request.deployment,
      kind: request.runKind,
      variables: request.variables,
      actor: d.actor,
      // The message's outbox row commits with the run: no run without its message.
      onCreated: (tx, runId) =>
        createMessageRow(tx, {
          runId,
          channel: d.cmd.channel_id,
          requestedBy: d.cmd.user_id,
          responseUrl: d.cmd.response_url,
        }),
    }),
  );
  if (run === null) return;
  let tracked = true;
  try {
    await ctx.outbox.track(run.id);
  } catch (error) {
    // The run exists and goes on; only its channel message is missing.
    tracked = false;
    ctx.log.error('could not queue the run message', { runId: run.id, error });
  }
  ctx.log.info('run requested', {
    runId: run.id,
    deployment: run.deployment,
    kind: run.kind,
    status: run.status,
    userId: d.cmd.user_id,
  });
  const accepted = renderRunAccepted(run, ctx.command);
  await d.reply(
    tracked
      ? accepted
      : {
          ...accepted,
          blocks: [
            ...accepted.blocks,
            ...renderProblem(
              `the run goes on, but its message could not be queued for this channel: follow it with ${ctx.command} status ${run.id}`,
            ).blocks,
          ],
        },
  );
}
