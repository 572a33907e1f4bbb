// The CLI's sentence for a refusal: the core says what is wrong in words every
// front end can show; the CLI adds the command that helps (the bot adds its own).

import { stillNeeds } from '../core/text/policy.ts';

export function refusalSentence(
  code: string,
  message: string,
  details: Readonly<Record<string, unknown>> = {},
): string {
  switch (code) {
    case 'unknown_run':
      return `${message} (deploy-bot list shows recent runs)`;
    case 'deployment_busy':
      return typeof details.runId === 'string'
        ? `${message} (deploy-bot apply ${details.runId})`
        : message;
    case 'no_identity':
      return `${message}: pass --as U… (your Slack user id) or set DEPLOY_USER`;
    case 'frozen':
      return details.canOverride === true
        ? `${message} (deploy-bot apply RUN --override-reason "why")`
        : message;
    case 'no_config':
      return `${message} (deploy-bot serve --config FILE, or deploy-bot worker --config FILE)`;
    case 'locked':
      return `${message} (deploy-bot locks lists the locks; deploy-bot unlock NAME|env:ENV|all lifts one)`;
    case 'already_approved':
    case 'approval_not_needed':
    case 'plan_approver':
      return `${message}${stillNeeds(code, details)} (deploy-bot status RUN shows who approved)`;
    case 'rule_denied':
      return `${message} (deploy-bot audit RUN lists each evaluation of the run's rules)`;
    case 'rule_failed':
      return `${message} (deploy-bot policy test RUN shows each rule's result; deploy-bot policy check --config FILE checks a fix before it is published)`;
    default:
      return message;
  }
}
