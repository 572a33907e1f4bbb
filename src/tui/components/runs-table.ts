// The runs table: only the rows that fit are rendered, so a thousand runs cost
// no more than a screenful.

import { Box } from 'ink';
import {
  createElement as h,
  memo,
  type ReactElement,
  useLayoutEffect,
  useMemo,
  useRef,
} from 'react';
import type { RunView } from '../../core/api/types.ts';
import { type RunStatus, STATUS_TABLE } from '../../core/lifecycle/statuses.ts';
import { type Column, type ColumnKey, GAP, layoutColumns } from '../layout.ts';
import { runTime } from '../text/time.ts';
import { fit, sanitize } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { type Row, RowLine, type Segment } from './row.ts';

export type RunsTableProps = {
  readonly runs: readonly RunView[];
  readonly selected: number;
  readonly width: number;
  /** Rows for the table, its header included. */
  readonly height: number;
  readonly now: number;
  readonly theme: Theme;
  /** Shown when there are no runs. */
  readonly emptyText: string;
};

/**
 * The first row shown, given the one shown before: the rows stay where they are
 * while the selection moves among them; when it comes within a couple of rows of
 * an edge (or jumps out of view), the list scrolls by about half a screen so that
 * the selection is in the middle again (as Midnight Commander's panels do). Moving
 * the selection by one then redraws two lines, not every line of the screen, and
 * the eye can follow it.
 */
export function scrollOffset(
  count: number,
  selected: number,
  visible: number,
  previous = 0,
): number {
  if (count <= visible) return 0;
  const last = count - visible;
  const offset = Math.min(Math.max(0, previous), last);
  // Rows of context kept between the selection and an edge that can still scroll.
  const margin = Math.min(2, Math.floor((visible - 1) / 4));
  const top = offset === 0 ? 0 : offset + margin;
  const bottom = offset === last ? count - 1 : offset + visible - 1 - margin;
  if (selected >= top && selected <= bottom) return offset;
  return Math.min(Math.max(0, selected - Math.floor(visible / 2)), last);
}

/** Labels short enough for the table; the detail shows the full ones. */
export const SHORT_LABELS: Partial<Record<RunStatus, string>> = {
  awaiting_plan_approval: 'Plan approval',
  awaiting_apply_approval: 'Apply approval',
  rolled_back: 'Rolled back',
  rollback_failed: 'Rollback failed',
};

type Age = ReturnType<typeof runTime>;

function cell(run: RunView, key: ColumnKey, age: Age, theme: Theme, withKind: boolean): Segment {
  switch (key) {
    case 'id':
      return { text: run.id, color: theme.c('accent') };
    case 'deployment':
      // Without a kind column a destroy must still stand out.
      return !withKind && run.kind === 'destroy'
        ? { text: `DESTROY ${sanitize(run.deployment)}`, bold: true, color: theme.c('danger') }
        : { text: sanitize(run.deployment), bold: true };
    case 'environment':
      return { text: sanitize(run.environment) };
    case 'kind':
      return run.kind === 'destroy'
        ? { text: 'destroy', color: theme.c('danger') }
        : { text: 'execute' };
    case 'status': {
      const info = STATUS_TABLE[run.status];
      return {
        text: `${info.symbol} ${SHORT_LABELS[run.status] ?? info.label}`,
        color: theme.status(run.status),
      };
    }
    case 'phase':
      return {
        text: run.currentPhase ?? (run.failedPhase ? `✗${run.failedPhase}` : '—'),
        dim: !run.currentPhase,
      };
    case 'by':
      return { text: sanitize(run.requestedBy) };
    case 'age':
      return age.running
        ? { text: age.text, color: theme.c('accent') }
        : { text: age.text, dim: true };
  }
}

function headerRow(columns: readonly Column[]): Row {
  const segs: Segment[] = [{ text: '  ' }];
  columns.forEach((c, i) => {
    segs.push({
      text: fit(c.title, c.width, c.align) + (i < columns.length - 1 ? ' '.repeat(GAP) : ''),
      bold: true,
      underline: false,
    });
  });
  return segs;
}

export function runRow(
  run: RunView,
  columns: readonly Column[],
  selected: boolean,
  now: number,
  theme: Theme,
): Row {
  return buildRunRow(run, columns, selected, runTime(run, now), theme);
}

function buildRunRow(
  run: RunView,
  columns: readonly Column[],
  selected: boolean,
  age: Age,
  theme: Theme,
): Row {
  const segs: Segment[] = [{ text: selected ? '› ' : '  ', inverse: selected, bold: selected }];
  const withKind = columns.some((c) => c.key === 'kind');
  columns.forEach((c, i) => {
    const value = cell(run, c.key, age, theme, withKind);
    const gap = i < columns.length - 1 ? ' '.repeat(GAP) : '';
    segs.push({ ...value, text: fit(value.text, c.width, c.align) + gap, inverse: selected });
  });
  return segs;
}

type CachedRow = {
  readonly columns: readonly Column[];
  readonly selected: boolean;
  readonly age: Age;
  readonly theme: Theme;
  readonly row: Row;
};

/**
 * The last row built for each run (a RunView is a snapshot: a change is a new
 * object). Moving the selection or a tick of the clock rebuilds only the rows
 * that look different; the others keep their Row, so their RowLine is skipped.
 */
const rowCache = new WeakMap<RunView, CachedRow>();

function cachedRunRow(
  run: RunView,
  columns: readonly Column[],
  selected: boolean,
  now: number,
  theme: Theme,
): Row {
  const age = runTime(run, now);
  const hit = rowCache.get(run);
  if (
    hit &&
    hit.columns === columns &&
    hit.selected === selected &&
    hit.theme === theme &&
    hit.age.text === age.text &&
    hit.age.running === age.running
  ) {
    return hit.row;
  }
  const row = buildRunRow(run, columns, selected, age, theme);
  rowCache.set(run, { columns, selected, age, theme, row });
  return row;
}

function RunsTableImpl(props: RunsTableProps): ReactElement {
  const { runs, width, theme, now } = props;
  const columns = useMemo(() => layoutColumns(width), [width]);
  const header = useMemo(() => headerRow(columns), [columns]);
  const visible = Math.max(0, props.height - 1);
  // The offset of the last frame drawn (a ref, not state: it follows the selection
  // within the same render).
  const shown = useRef(0);
  const offset = scrollOffset(runs.length, props.selected, visible, shown.current);
  useLayoutEffect(() => {
    shown.current = offset;
  });
  const rows: ReactElement[] = [h(RowLine, { key: 'header', row: header, width })];
  if (runs.length === 0) {
    rows.push(
      h(RowLine, { key: 'empty', row: [{ text: `  ${props.emptyText}`, dim: true }], width }),
    );
  }
  const end = Math.min(runs.length, offset + visible);
  for (let i = offset; i < end; i++) {
    const run = runs[i]!;
    rows.push(
      h(RowLine, {
        key: run.id,
        row: cachedRunRow(run, columns, i === props.selected, now, theme),
        width,
        pad: i === props.selected,
      }),
    );
  }
  // Every line is fitted to the width, so only the height needs clipping: a
  // horizontal clip makes Ink measure and re-slice every line on every frame.
  return h(
    Box,
    { flexDirection: 'column', width, height: props.height, overflowY: 'hidden' },
    ...rows,
  );
}

export const RunsTable = memo(RunsTableImpl);
