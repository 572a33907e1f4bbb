// What a failed step said about its failure, for the run's error: Terraform's
// `Error:` blocks, else the last stderr lines; a few kB at most, redacted.

import { describe, expect, it } from 'vitest';
import { ERROR_OUTPUT_MAX, ErrorOutput } from '../src/core/executors/error-output.ts';
import { makeRedactor } from '../src/core/logs/redact.ts';

function collect(lines: readonly [string, 'stdout' | 'stderr'][]) {
  const out = new ErrorOutput();
  for (const [line, stream] of lines) out.add(stream, line);
  return out;
}

describe('the error output of a failed step', () => {
  it("Terraform's boxed Error: blocks, not its warnings or progress", () => {
    const out = collect([
      ['aws_s3_bucket.logs: Creating...', 'stdout'],
      ['╷', 'stderr'],
      ['│ Warning: Argument is deprecated', 'stderr'],
      ['│ ', 'stderr'],
      ['│ Use aws_s3_bucket_acl instead.', 'stderr'],
      ['╵', 'stderr'],
      ['╷', 'stderr'],
      ['│ Error: creating S3 Bucket (acc-logs): AccessDenied: not allowed', 'stderr'],
      ['│ ', 'stderr'],
      ['│   with aws_s3_bucket.logs,', 'stderr'],
      ['│   on main.tf line 1, in resource "aws_s3_bucket" "logs":', 'stderr'],
      ['│    1: resource "aws_s3_bucket" "logs" {', 'stderr'],
      ['│ ', 'stderr'],
      ['╵', 'stderr'],
      ['Releasing state lock. This may take a few moments...', 'stderr'],
    ]);
    expect(out.text()).toBe(
      [
        'Error: creating S3 Bucket (acc-logs): AccessDenied: not allowed',
        '',
        '  with aws_s3_bucket.logs,',
        '  on main.tf line 1, in resource "aws_s3_bucket" "logs":',
        '   1: resource "aws_s3_bucket" "logs" {',
      ].join('\n'),
    );
  });

  it('plain (-no-color) Error: blocks, every one of them, ANSI colours removed', () => {
    const out = collect([
      ['', 'stderr'],
      ['\u001b[31mError: Invalid reference\u001b[0m', 'stderr'],
      ['', 'stderr'],
      ['  on main.tf line 3:', 'stderr'],
      ['', 'stderr'],
      ['Error: Missing required argument', 'stderr'],
      ['', 'stderr'],
    ]);
    expect(out.text()).toBe(
      'Error: Invalid reference\n\n  on main.tf line 3:\nError: Missing required argument',
    );
  });

  it('else the last stderr lines; else the last stdout lines; else nothing', () => {
    const lines = Array.from({ length: 30 }, (_, i): [string, 'stderr'] => [`line ${i}`, 'stderr']);
    const text = collect([['progress', 'stdout'], ...lines]).text() ?? '';
    expect(text.split('\n')).toEqual(Array.from({ length: 12 }, (_, i) => `line ${18 + i}`));
    expect(collect([['only stdout', 'stdout']]).text()).toBe('only stdout');
    expect(collect([['', 'stderr']]).text()).toBeNull();
  });

  it('at most a few kB, the newest kept, sensitive values masked before anything is cut', () => {
    const secret = 'hunter2-very-secret';
    const redact = makeRedactor([secret]);
    const huge = `${'x'.repeat(395)}${secret}`;
    const out = collect([
      ...Array.from({ length: 50 }, (): [string, 'stderr'] => [huge, 'stderr']),
      [`Error: token ${secret} refused`, 'stderr'],
      [`detail ${'y'.repeat(50_000)}`, 'stderr'],
    ]);
    const text = out.text(redact) ?? '';
    expect(text.length).toBeLessThanOrEqual(ERROR_OUTPUT_MAX);
    expect(text).toContain('Error: token •••••• refused');
    expect(text).not.toContain('hunter2');
    const tail = collect(Array.from({ length: 50 }, (): [string, 'stderr'] => [huge, 'stderr']));
    const cut = tail.text(redact) ?? '';
    expect(cut.length).toBeLessThanOrEqual(ERROR_OUTPUT_MAX);
    expect(cut).not.toContain('hunter');
  });
});
