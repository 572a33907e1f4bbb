// Column layout of the runs table for a terminal width: fixed columns keep their
// width, flexible ones share what is left, and the least important columns are
// dropped (not squeezed into nonsense) when the terminal is too narrow.

export type ColumnKey =
  | 'id'
  | 'deployment'
  | 'environment'
  | 'kind'
  | 'status'
  | 'phase'
  | 'by'
  | 'age';

type ColumnSpec = {
  readonly key: ColumnKey;
  readonly title: string;
  readonly min: number;
  readonly max: number;
  /** Share of the spare width. */
  readonly weight: number;
  /** Columns with the lowest value are dropped first when space runs out. */
  readonly keep: number;
  readonly align: 'left' | 'right';
};

export const COLUMN_SPECS: readonly ColumnSpec[] = [
  { key: 'id', title: 'RUN', min: 14, max: 14, weight: 0, keep: 100, align: 'left' },
  { key: 'deployment', title: 'DEPLOYMENT', min: 10, max: 40, weight: 3, keep: 90, align: 'left' },
  { key: 'environment', title: 'ENV', min: 5, max: 28, weight: 1, keep: 40, align: 'left' },
  { key: 'kind', title: 'KIND', min: 7, max: 7, weight: 0, keep: 20, align: 'left' },
  { key: 'status', title: 'STATUS', min: 15, max: 28, weight: 3, keep: 95, align: 'left' },
  { key: 'phase', title: 'PHASE', min: 8, max: 8, weight: 0, keep: 30, align: 'left' },
  { key: 'by', title: 'BY', min: 6, max: 16, weight: 1, keep: 50, align: 'left' },
  { key: 'age', title: 'AGE', min: 8, max: 8, weight: 0, keep: 80, align: 'right' },
];

export type Column = {
  readonly key: ColumnKey;
  readonly title: string;
  readonly width: number;
  readonly align: 'left' | 'right';
};

/** One column for the selection marker, then the columns, separated by one space. */
export const MARKER_WIDTH = 2;
export const GAP = 1;

export function layoutColumns(totalWidth: number): Column[] {
  const available = Math.max(0, totalWidth - MARKER_WIDTH);
  let specs = [...COLUMN_SPECS];
  const need = (list: readonly ColumnSpec[]) =>
    list.reduce((n, c) => n + c.min, 0) + GAP * Math.max(0, list.length - 1);
  while (specs.length > 1 && need(specs) > available) {
    const weakest = specs.reduce((a, b) => (b.keep < a.keep ? b : a));
    specs = specs.filter((c) => c !== weakest);
  }
  const widths = new Map<ColumnKey, number>(specs.map((c) => [c.key, c.min]));
  let spare = available - need(specs);
  // Hand out the spare width by weight, one round at a time, up to each maximum.
  while (spare > 0) {
    const growable = specs.filter((c) => c.weight > 0 && (widths.get(c.key) ?? 0) < c.max);
    if (growable.length === 0) break;
    const totalWeight = growable.reduce((n, c) => n + c.weight, 0);
    let given = 0;
    for (const c of growable) {
      const share = Math.max(1, Math.floor((spare * c.weight) / totalWeight));
      const current = widths.get(c.key) ?? 0;
      const add = Math.min(share, c.max - current, spare - given);
      if (add <= 0) continue;
      widths.set(c.key, current + add);
      given += add;
    }
    if (given === 0) break;
    spare -= given;
  }
  if (specs.length === 1 && specs[0]) {
    widths.set(specs[0].key, Math.min(specs[0].min, available));
  }
  return specs.map((c) => ({
    key: c.key,
    title: c.title,
    width: widths.get(c.key) ?? c.min,
    align: c.align,
  }));
}
