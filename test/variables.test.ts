import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config/load.ts';
import { isRefusal } from '../src/core/errors.ts';
import { ArgsError, parseArgs, tokenize } from '../src/core/variables/args.ts';
import { usageOf, validateVariables } from '../src/core/variables/validate.ts';

const config = parseConfig(
  `deployments:
  - name: web-prod
    approvers: [U0A]
    source: { kind: directory, path: . }
    executor: { kind: script, plan: ./p, apply: ./a }
    variables:
      image_tag: { type: string, required: true, pattern: "^[a-z0-9._-]+$" }
      replicas:  { type: number, default: 2, integer: true, min: 1, max: 10 }
      canary:    { type: boolean, default: false }
      size:      { type: select, options: [small, large], default: small }
      api_key:   { type: string, sensitive: true }
      msg:       { type: string }
`,
  'deploy.config.yaml',
);
const web = config.deployments.get('web-prod')!;

function problems(input: Record<string, string>): string[] {
  try {
    validateVariables(web, input);
  } catch (error) {
    if (isRefusal(error)) return error.details.problems as string[];
    throw error;
  }
  return [];
}

describe('variables', () => {
  it('types values, applies defaults and keeps sensitive ones apart', () => {
    const v = validateVariables(web, {
      image_tag: '1.4.2',
      replicas: '3',
      canary: 'yes',
      api_key: 'k3y',
    });
    expect(v.plain).toEqual({ image_tag: '1.4.2', replicas: 3, canary: true, size: 'small' });
    expect(v.secret).toEqual({ api_key: 'k3y' });
  });

  it('says what is wrong with each variable, all at once', () => {
    expect(
      problems({ replicas: 'two', canary: 'maybe', size: 'huge', colour: 'red', image_tagg: 'x' }),
    ).toEqual([
      'unknown variable colour; web-prod takes image_tag, replicas, canary, size, api_key, msg',
      'unknown variable image_tagg (did you mean image_tag?); web-prod takes image_tag, replicas, canary, size, api_key, msg',
      'missing required variable image_tag (string)',
      'replicas="two" is not a number',
      'canary="maybe" is not a boolean: use true or false',
      'size="huge" is not one of small, large',
    ]);
    expect(problems({ image_tag: 'Bad Tag!', replicas: '2.5' })).toEqual([
      'image_tag="Bad Tag!" does not match the pattern ^[a-z0-9._-]+$',
      'replicas="2.5" is not a whole number',
    ]);
    expect(problems({ image_tag: 'x', replicas: '11' })).toEqual([
      'replicas="11" is above the maximum 10',
    ]);
  });

  it('never shows a sensitive value in a problem', () => {
    const web2 = parseConfig(
      `deployments:
  - name: s
    approvers: [U0A]
    source: { kind: directory, path: . }
    executor: { kind: script, plan: ./p, apply: ./a }
    variables:
      token: { type: string, sensitive: true, pattern: "^tok_" }
`,
      'deploy.config.yaml',
    ).deployments.get('s')!;
    try {
      validateVariables(web2, { token: 'hunter2-secret' });
      throw new Error('expected refusal');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
      expect((error as Error).message).toContain('token=(hidden)');
    }
  });

  it('prints a usage line', () => {
    expect(usageOf(web)).toBe(
      'web-prod image_tag=<string> [replicas=<number, default 2>] [canary=<boolean, default false>] [size=<small|large, default small>] [api_key=<string>] [msg=<string>]',
    );
  });
});

describe('the /deploy argument parser', () => {
  it('splits words and keeps quoted values whole', () => {
    expect(parseArgs('web-prod image_tag=1.4.2 msg="hello world"')).toEqual({
      words: ['web-prod'],
      assignments: { image_tag: '1.4.2', msg: 'hello world' },
    });
    expect(tokenize(`a 'b c' “smart quotes” msg=“hi there” x=\\"y`)).toEqual([
      'a',
      'b c',
      'smart quotes',
      'msg=hi there',
      'x="y',
    ]);
    expect(parseArgs('deploy msg=')).toEqual({ words: ['deploy'], assignments: { msg: '' } });
  });

  it('keeps shell metacharacters as plain data', () => {
    expect(parseArgs('x msg="$(touch /tmp/x); rm -rf / `id`"').assignments.msg).toBe(
      '$(touch /tmp/x); rm -rf / `id`',
    );
  });

  it('says what to fix in malformed input', () => {
    expect(() => parseArgs('web msg="unterminated')).toThrow(ArgsError);
    expect(() => parseArgs('web msg="unterminated')).toThrow(
      'unclosed quote ": close it, e.g. msg="hello world"',
    );
    expect(() => parseArgs('web a=1 a=2')).toThrow('a is given twice');
    expect(() => parseArgs('web 1x=2')).toThrow('"1x" is not a variable name');
  });
});
