// The "Deploy…" form: `/deploy` with no arguments and the global shortcut
// `deploy_start` open it right after the ack (a trigger id lives 3 seconds);
// picking a deployment re-renders it with that deployment's variables; the
// submission is checked with the command's own rules and sentences and
// answered with `response_action: errors` on the wrong fields, or closes the
// form and starts the run, whose message the outbox posts in the channel.
// Values are never logged (only the names of the fields that were wrong).

import type { App } from '@slack/bolt';
import type { Deployment } from '../../../core/api/port.ts';
import type { Actor } from '../../../core/api/types.ts';
import { isRefusal } from '../../../core/errors.ts';
import { checkChannel } from '../../../core/lifecycle/policy.ts';
import { validateVariables } from '../../../core/variables/validate.ts';
import {
  DEPLOY_FORM,
  type DeployFormState,
  formVariables,
  missingSensitive,
  parseFormState,
  renderDeployForm,
  variableBlockId,
} from '../../render/modal.ts';
import { refusalPlain } from '../../render/refusal.ts';
import { renderErrorReply, renderProblem, renderRunAccepted } from '../../render/replies.ts';
import { createReply } from '../../slack/respond.ts';
import {
  type InputState,
  shortcutSchema,
  type ViewPayload,
  viewActionSchema,
  viewSubmissionSchema,
} from '../../slack/view-payloads.ts';
import {
  createMessageRow,
  forgetRequest,
  recordRequest,
  setRequestRun,
} from '../../store/messages.ts';
import type { BotContext } from '../context.ts';

export const DEPLOY_SHORTCUT = 'deploy_start';

/** The deployments the form offers: those allowed in the channel, or all when it is not known yet. */
async function formDeployments(ctx: BotContext, user: string, channel: string | null) {
  const views = await ctx.core.listDeployments(
    channel !== null ? { id: user, via: 'slack', channel } : undefined,
  );
  return views.map((v) => ctx.core.deployment(v.name));
}

/**
 * Opens the form for `user`; false when Slack refused (an expired trigger, a
 * view Slack would not take), after logging why.
 */
export async function openDeployForm(
  ctx: BotContext,
  input: { triggerId: string; user: string; channel: string | null },
): Promise<boolean> {
  const started = Date.now();
  try {
    const deployments = await formDeployments(ctx, input.user, input.channel);
    const state: DeployFormState = {
      channel: input.channel,
      deployment: deployments.length === 1 ? deployments[0]!.name : null,
    };
    await ctx.client.views.open({
      trigger_id: input.triggerId,
      view: renderDeployForm({ deployments, state, command: ctx.command }) as never,
    });
    ctx.log.info('deploy form opened', {
      userId: input.user,
      channel: input.channel,
      ms: Date.now() - started,
    });
    return true;
  } catch (error) {
    ctx.log.warn('could not open the deploy form', { userId: input.user, error });
    return false;
  }
}

function inputValue(state: InputState | undefined): string | undefined {
  if (state === undefined) return undefined;
  if (state.type === 'checkboxes')
    return (state.selected_options ?? []).some((o) => o.value === 'true') ? 'true' : 'false';
  if (state.type === 'static_select') return state.selected_option?.value ?? undefined;
  const value = state.value;
  return value === null || value === undefined || value === '' ? undefined : value;
}

function fieldOf(view: ViewPayload, blockId: string, actionId: string): InputState | undefined {
  return view.state.values[blockId]?.[actionId];
}

/** The sentences the command gives for one variable (empty when it is fine). */
function variableProblems(deployment: Deployment, name: string, raw: string | undefined): string[] {
  const spec = deployment.variables[name];
  if (spec === undefined) return [];
  try {
    validateVariables(
      { ...deployment, variables: { [name]: spec } },
      raw !== undefined ? { [name]: raw } : {},
    );
    return [];
  } catch (error) {
    if (!isRefusal(error)) throw error;
    const problems = error.details.problems;
    return Array.isArray(problems)
      ? problems.filter((p): p is string => typeof p === 'string')
      : [error.message];
  }
}

export type FormOutcome =
  | { readonly kind: 'errors'; readonly errors: Record<string, string> }
  | { readonly kind: 'update'; readonly view: Record<string, unknown> }
  | {
      readonly kind: 'start';
      readonly deployment: string;
      readonly channel: string;
      readonly variables: Record<string, string>;
    };

/** Checks a submitted form with the command's rules. Pure but for the config lookups. */
export async function checkDeployForm(
  ctx: BotContext,
  user: string,
  view: ViewPayload,
): Promise<FormOutcome> {
  const state = parseFormState(view.private_metadata) ?? { channel: null, deployment: null };
  const errors: Record<string, string> = {};
  const channel =
    state.channel ??
    fieldOf(view, DEPLOY_FORM.channelBlock, DEPLOY_FORM.channelAction)?.selected_conversation ??
    null;
  if (channel === null) errors[DEPLOY_FORM.channelBlock] = 'pick the channel to post the run in';
  const name =
    fieldOf(view, DEPLOY_FORM.deploymentBlock, DEPLOY_FORM.deploymentAction)?.selected_option
      ?.value ?? state.deployment;
  if (name === null || name === undefined) {
    errors[DEPLOY_FORM.deploymentBlock] = 'pick a deployment';
    return { kind: 'errors', errors };
  }
  let deployment: Deployment;
  try {
    deployment = ctx.core.deployment(name);
  } catch (error) {
    if (!isRefusal(error)) throw error;
    errors[DEPLOY_FORM.deploymentBlock] = error.message;
    return { kind: 'errors', errors };
  }
  if (name !== state.deployment) {
    // The form shows another deployment's variables (its re-render was lost):
    // show this one's before anything is started.
    const deployments = await formDeployments(ctx, user, state.channel);
    return {
      kind: 'update',
      view: renderDeployForm({
        deployments,
        state: { ...state, deployment: name },
        command: ctx.command,
      }),
    };
  }
  if (channel !== null) {
    try {
      checkChannel(deployment, { id: user, via: 'slack', channel });
    } catch (error) {
      if (!isRefusal(error)) throw error;
      errors[state.channel === null ? DEPLOY_FORM.channelBlock : DEPLOY_FORM.deploymentBlock] =
        refusalPlain(error);
    }
  }
  const missing = missingSensitive(deployment);
  if (missing.length > 0) {
    errors[DEPLOY_FORM.deploymentBlock] =
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} sensitive with no default and cannot be given in this form: run ${deployment.name} with deploy-bot execute from a terminal`;
  }
  const variables: Record<string, string> = {};
  for (const [variable] of formVariables(deployment).asked) {
    const blockId = variableBlockId(deployment.name, variable);
    const raw = inputValue(fieldOf(view, blockId, DEPLOY_FORM.valueAction));
    const problems = variableProblems(deployment, variable, raw);
    if (problems.length > 0) errors[blockId] = problems.join('; ');
    else if (raw !== undefined) variables[variable] = raw;
  }
  if (Object.keys(errors).length > 0 || channel === null) return { kind: 'errors', errors };
  return { kind: 'start', deployment: deployment.name, channel, variables };
}

async function startFromForm(
  ctx: BotContext,
  user: string,
  viewId: string,
  outcome: Extract<FormOutcome, { kind: 'start' }>,
): Promise<void> {
  const log = ctx.log.child({ userId: user, channel: outcome.channel });
  const reply = createReply(
    { responseUrl: undefined, channel: outcome.channel, user },
    { client: ctx.client, log },
  );
  // One run per form, however often Slack delivers its submission.
  const key = `view:${viewId}`;
  if (!(await recordRequest(ctx.core.store, key, 'execute'))) {
    log.info('duplicate delivery of a form submission: not acted on again', { viewId });
    return;
  }
  const actor: Actor = { id: user, via: 'slack', channel: outcome.channel };
  try {
    const run = await ctx.core.requestRun({
      deployment: outcome.deployment,
      kind: 'execute',
      variables: outcome.variables,
      actor,
      onCreated: (tx, runId) =>
        createMessageRow(tx, {
          runId,
          channel: outcome.channel,
          requestedBy: user,
          responseUrl: null,
        }),
    });
    await setRequestRun(ctx.core.store, key, run.id).catch(() => {});
    await ctx.outbox.track(run.id);
    log.info('run requested from the form', {
      runId: run.id,
      deployment: run.deployment,
      status: run.status,
    });
    await reply(renderRunAccepted(run, ctx.command));
  } catch (error) {
    if (isRefusal(error)) {
      await forgetRequest(ctx.core.store, key).catch(() => {});
      log.info('form refused', { code: error.code });
      await reply(renderProblem(error));
      return;
    }
    log.error('starting a run from the form failed', { error });
    await reply(
      renderErrorReply(
        'deploy-bot could not start the run',
        error instanceof Error ? error.message : String(error),
      ),
    );
  }
}

export function registerDeployForm(app: App, ctx: BotContext): void {
  app.shortcut(DEPLOY_SHORTCUT, async ({ ack, body }) => {
    await ack();
    const parsed = shortcutSchema.safeParse(body);
    if (!parsed.success) {
      ctx.log.warn('malformed shortcut payload');
      return;
    }
    await openDeployForm(ctx, {
      triggerId: parsed.data.trigger_id,
      user: parsed.data.user.id,
      channel: null,
    });
  });

  app.action(DEPLOY_FORM.deploymentAction, async ({ ack, body }) => {
    await ack();
    const parsed = viewActionSchema.safeParse(body);
    if (!parsed.success) {
      ctx.log.warn('malformed form action');
      return;
    }
    const { view, user, actions } = parsed.data;
    const state = parseFormState(view.private_metadata) ?? { channel: null, deployment: null };
    const picked = actions.find((a) => a.action_id === DEPLOY_FORM.deploymentAction)
      ?.selected_option?.value;
    try {
      const deployments = await formDeployments(ctx, user.id, state.channel);
      await ctx.client.views.update({
        view_id: view.id,
        ...(view.hash !== undefined ? { hash: view.hash } : {}),
        view: renderDeployForm({
          deployments,
          state: { ...state, deployment: picked ?? null },
          command: ctx.command,
        }) as never,
      });
    } catch (error) {
      // hash_conflict: the person changed the form again meanwhile; that change re-renders it.
      ctx.log.warn('could not show the picked deployment’s variables', { error });
    }
  });

  app.view(DEPLOY_FORM.callbackId, async ({ ack, body }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    if (!parsed.success) {
      await ack({
        response_action: 'errors',
        errors: {
          [DEPLOY_FORM.deploymentBlock]: 'deploy-bot could not read this form: open it again',
        },
      });
      ctx.log.warn('malformed form submission');
      return;
    }
    const { user, view } = parsed.data;
    let outcome: FormOutcome;
    try {
      outcome = await checkDeployForm(ctx, user.id, view);
    } catch (error) {
      ctx.log.error('checking the deploy form failed', { error });
      await ack({
        response_action: 'errors',
        errors: {
          [DEPLOY_FORM.deploymentBlock]: `deploy-bot could not check this form: ${error instanceof Error ? error.message : String(error)}`,
        },
      });
      return;
    }
    if (outcome.kind === 'errors') {
      await ack({ response_action: 'errors', errors: outcome.errors });
      ctx.log.info('form has problems', { userId: user.id, fields: Object.keys(outcome.errors) });
      return;
    }
    if (outcome.kind === 'update') {
      await ack({ response_action: 'update', view: outcome.view as never });
      return;
    }
    await ack();
    await startFromForm(ctx, user.id, view.id, outcome);
  });
}
