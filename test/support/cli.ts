// The CLI run in this process, as a person would run it: its exit code and
// what it wrote to stdout and stderr.

import { main } from '../../src/cli/main.ts';

export async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
