// The buttons' action ids and the value every button carries, so a click acts
// only on the run (version and plan) the message was rendered for.

export const ACTION_IDS = {
  approvePlan: 'approve_plan',
  confirmApply: 'confirm_apply',
  cancelRun: 'cancel_run',
} as const;

/** The run message's "⋯" menu: decisions with a note or a reason, each in a small form. */
export const NOTE_ACTION_ID = 'run_more';
export type NoteKind = 'approve_plan' | 'confirm_apply' | 'cancel_run';

/** An overflow option's value (at most 150 characters): `kind|runId|version|planId`. */
export function encodeNoteOption(kind: NoteKind, value: ButtonValue): string {
  return `${kind}|${value.runId}|${value.version}|${value.planId ?? ''}`;
}

export function parseNoteOption(
  raw: string | undefined,
): (ButtonValue & { kind: NoteKind }) | null {
  const [kind, runId, version, planId] = (raw ?? '').split('|');
  if (kind !== 'approve_plan' && kind !== 'confirm_apply' && kind !== 'cancel_run') return null;
  if (!runId || !/^\d+$/.test(version ?? '')) return null;
  return { kind, runId, version: Number(version), planId: planId ? planId : null };
}

/** Buttons that start a new run from an old one (its variables): they never act on the old run. */
export const AGAIN_ACTION_IDS = {
  /** On a finished run's message. */
  runAgain: 'run_again',
  /** On each completed run `/deploy history NAME` lists. */
  deployVersion: 'deploy_version',
} as const;
export type ActionId = (typeof ACTION_IDS)[keyof typeof ACTION_IDS];

const ACTION_ID_VALUES: readonly string[] = Object.values(ACTION_IDS);

export function isActionId(value: string): value is ActionId {
  return ACTION_ID_VALUES.includes(value);
}

/** What a button's `value` holds: the run, its version and its plan when rendered. */
export type ButtonValue = {
  readonly runId: string;
  readonly version: number;
  readonly planId: string | null;
};

export function encodeButtonValue(value: ButtonValue): string {
  return JSON.stringify({ runId: value.runId, version: value.version, planId: value.planId });
}

/** Parses a button value; null when it is not one the renderer wrote. */
export function parseButtonValue(raw: string | undefined | null): ButtonValue | null {
  if (typeof raw !== 'string' || raw.length === 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const { runId, version, planId } = parsed as Record<string, unknown>;
  if (typeof runId !== 'string' || runId.length === 0) return null;
  if (typeof version !== 'number' || !Number.isInteger(version)) return null;
  if (planId !== null && typeof planId !== 'string') return null;
  return { runId, version, planId };
}
