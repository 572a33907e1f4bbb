export type Row = { measure: string; value: string; target: string; ok: boolean | null };
export type Section = { title: string; command: string; rows: Row[]; notes: string[] };

export class Report {
  readonly sections: Section[] = [];

  section(title: string, command: string): Section {
    const s: Section = { title, command, rows: [], notes: [] };
    this.sections.push(s);
    return s;
  }
}

export function row(
  section: Section,
  measure: string,
  value: string,
  target = '',
  ok: boolean | null = null,
) {
  section.rows.push({ measure, value, target, ok });
  const mark = ok === null ? ' ' : ok ? '✓' : '✗';
  process.stdout.write(`  ${mark} ${measure}: ${value}${target ? ` (target ${target})` : ''}\n`);
}

export function renderMarkdown(report: Report, header: string): string {
  const out = [header, ''];
  for (const s of report.sections) {
    out.push(
      `## ${s.title}`,
      '',
      `Reproduce: \`${s.command}\``,
      '',
      '| measure | value | target | met |',
      '|---|---|---|---|',
    );
    for (const r of s.rows)
      out.push(
        `| ${r.measure} | ${r.value} | ${r.target} | ${r.ok === null ? '' : r.ok ? 'yes' : '**no**'} |`,
      );
    if (s.notes.length) out.push('', ...s.notes.map((n) => `- ${n}`));
    out.push('');
  }
  return out.join('\n');
}
