// The text of a `/deploy` as Slack sends it: HTML entities for & < >, typographic
// quotes from the client, and empty names. What the run gets, or the problem
// the person is told.

import { describe, expect, it } from 'vitest';
import { type DeployRequest, parseDeployText } from '../src/bot/listeners/commands/parse.ts';
import { slackCommandText } from '../src/bot/slack/command-text.ts';
import { tokenize } from '../src/core/variables/args.ts';

/** What the bot makes of `text` as Slack sends it. */
const parse = (text: string): DeployRequest => parseDeployText(slackCommandText(text));

/** The variables a run gets, or the problem the person is told. */
function outcome(text: string): Readonly<Record<string, string>> | string {
  const request = parse(text);
  if (request.kind === 'run') return request.variables;
  if (request.kind === 'usage') return request.problem;
  return `unexpected ${request.kind}`;
}

describe('slackCommandText', () => {
  it('unescapes exactly &amp; &lt; &gt;, each once', () => {
    expect(slackCommandText('a&amp;b &lt;x&gt;')).toBe('a&b <x>');
    // Typed `&lt;` arrives as `&amp;lt;`: it stays `&lt;`.
    expect(slackCommandText('&amp;lt; &amp;amp; &amp;gt;')).toBe('&lt; &amp; &gt;');
    expect(slackCommandText('&quot; &#39; &nbsp; &AMP; & &amp')).toBe(
      '&quot; &#39; &nbsp; &AMP; & &amp',
    );
  });

  it('turns typographic quotes into the plain ones they were typed as', () => {
    expect(slackCommandText('msg=“hello world”')).toBe('msg="hello world"');
    expect(slackCommandText('msg=‘x y’')).toBe("msg='x y'");
    // macOS makes a quote after `=` a closing one; mixed pairs from editing.
    expect(slackCommandText('msg=”hello world”')).toBe('msg="hello world"');
    expect(slackCommandText('msg=’x y’')).toBe("msg='x y'");
    expect(slackCommandText('msg=“hello world"')).toBe('msg="hello world"');
  });

  it('leaves apostrophes, escaped quotes and quotes inside plain quotes as text', () => {
    expect(slackCommandText('msg=it’s')).toBe('msg=it’s');
    expect(slackCommandText('msg=‘it’s fine’')).toBe("msg='it’s fine'");
    expect(slackCommandText('msg=\\“x')).toBe('msg=\\“x');
    expect(slackCommandText('msg="say “hi”"')).toBe('msg="say “hi”"');
    expect(slackCommandText("msg='say ‘hi’'")).toBe("msg='say ‘hi’'");
    expect(slackCommandText('msg=“a\\”b”')).toBe('msg="a\\”b"');
  });

  it('changes nothing else', () => {
    for (const text of [
      '',
      'web image_tag=1.4.2 msg="hello world" x=\'a b\' y=\\"z',
      'status run-abc',
      'ünïcödé → ✓ \\',
      '  spaced\tout\n',
    ]) {
      expect(slackCommandText(text)).toBe(text);
    }
  });

  it('typographic quotes then tokenize like the plain ones (backslashes too)', () => {
    const pairs: [string, string][] = [
      ['a “b c” d', 'a "b c" d'],
      ['x=“C:\\dir” y', 'x="C:\\dir" y'],
      ['x=‘a\\b’', "x='a\\b'"],
      ['x=”“', 'x=""'],
    ];
    for (const [smart, plain] of pairs) {
      expect(tokenize(slackCommandText(smart)), smart).toEqual(tokenize(plain));
    }
  });
});

describe('parseDeployText on Slack text', () => {
  it('the run gets & < > as typed', () => {
    expect(outcome('web-prod msg="a&amp;b"')).toEqual({ msg: 'a&b' });
    expect(outcome('web-prod msg=“a &amp; b” note=&lt;b&gt;')).toEqual({
      msg: 'a & b',
      note: '<b>',
    });
    expect(outcome('web-prod msg=&amp;lt;')).toEqual({ msg: '&lt;' });
  });

  it('typographic quotes keep a value with spaces together', () => {
    expect(outcome('web-prod msg=“hello world”')).toEqual({ msg: 'hello world' });
    expect(outcome('web-prod msg=‘x y’ tag=1')).toEqual({ msg: 'x y', tag: '1' });
    expect(outcome('web-prod msg=”hello world”')).toEqual({ msg: 'hello world' });
    expect(outcome('web-prod msg=’it’s done’')).toEqual({ msg: 'it’s done' });
    expect(outcome('web-prod msg=“say \\”hi\\””')).toEqual({ msg: 'say ”hi”' });
    expect(outcome('web-prod msg="say “hi”"')).toEqual({ msg: 'say “hi”' });
  });

  it('an unclosed typographic quote is an unclosed quote', () => {
    expect(outcome('web-prod msg=“hello world')).toMatch(/^unclosed quote "/);
  });

  it('an empty deployment name is a missing one', () => {
    for (const text of ['""', "''", '“”', '" "', 'execute ""', 'execute "" a=1', '"" a=1']) {
      expect(parse(text), text).toEqual(parse('execute'));
      expect(outcome(text), text).toBe('which deployment? Give its name first');
    }
    expect(parse('destroy ""')).toEqual(parse('destroy'));
    expect(outcome('destroy ‘’')).toBe('which deployment? Give its name first');
  });

  it('an empty run id is a missing one', () => {
    for (const sub of ['logs', 'cancel']) {
      const missing = parse(sub);
      expect(missing).toMatchObject({
        kind: 'usage',
        problem: 'which run? Give its id, e.g. run-7k2m9x4p',
      });
      expect(parse(`${sub} ""`)).toEqual(missing);
      expect(parse(`${sub} “” 5`)).toEqual(missing);
    }
  });

  it('help "" and status "" are help and status without an argument', () => {
    expect(parse('help ""')).toEqual({ kind: 'help', deployment: null });
    expect(parse('status ""')).toEqual({ kind: 'status', target: null });
    expect(parse('status “ ”')).toEqual({ kind: 'status', target: null });
    // Still one argument at most.
    expect(parse('help "" web')).toMatchObject({ kind: 'usage' });
  });

  it('other empty arguments count as not given', () => {
    expect(parse('logs run-abc ""')).toEqual({ kind: 'logs', runId: 'run-abc', lines: 20 });
    expect(parse('cancel run-abc ""')).toEqual({ kind: 'cancel', runId: 'run-abc', reason: null });
    expect(parse('cancel run-abc “wrong tag”')).toEqual({
      kind: 'cancel',
      runId: 'run-abc',
      reason: 'wrong tag',
    });
    // An empty value is still a value.
    expect(outcome('web-prod msg=""')).toEqual({ msg: '' });
  });
});
