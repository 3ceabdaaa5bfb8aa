import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CaseSyntaxError, loadCases, parseCaseLine } from '../kernel/differential/cases.js';

const at = 'x.cases:1';

describe('differential case lines', () => {
  test('steps split on a lone semicolon, words as the shell splits them', () => {
    const c = parseCaseLine(`ipvsadm -A -t 10.0.0.1:80 -s 'w rr' ; ipvsadm "-L" -n\\ x ''`, at);
    expect(c?.steps).toEqual([
      { spawn: false, env: {}, program: 'ipvsadm', args: ['-A', '-t', '10.0.0.1:80', '-s', 'w rr'] },
      { spawn: false, env: {}, program: 'ipvsadm', args: ['-L', '-n x', ''] },
    ]);
  });

  test('a quoted semicolon is an argument', () => {
    expect(parseCaseLine(`ipvsadm -A ';' -t a`, at)?.steps).toHaveLength(1);
  });

  test('here-string: escapes decoded and a final newline added', () => {
    const c = parseCaseLine(`ipvsadm -R <<< '-A -t 1.2.3.4:80\\n-C\\t\\\\'`, at);
    expect(c?.steps[0]?.stdin).toBe('-A -t 1.2.3.4:80\n-C\t\\\n');
  });

  test('environment words, the process marker, comments and blank lines', () => {
    const c = parseCaseLine(`! POSIXLY_CORRECT=1 ipvsadm -L`, at);
    expect(c).toMatchObject({ spawn: true, steps: [{ spawn: true, env: { POSIXLY_CORRECT: '1' }, args: ['-L'] }] });
    const one = parseCaseLine(`ipvsadm -A -t a:80 ; ! ipvsadm -L ; ipvsadm '!'`, at);
    expect(one?.steps.map((s) => [s.spawn, s.args[0]])).toEqual([
      [false, '-A'],
      [true, '-L'],
      [false, '!'],
    ]);
    expect(parseCaseLine('  # note', at)).toBeNull();
    expect(parseCaseLine('   ', at)).toBeNull();
  });

  test.each([
    ['ls -l', /must start with/],
    ['ipvsadm -L ;', /must start with/],
    [`ipvsadm -A 'x`, /unterminated single/],
    ['ipvsadm -R <<< a b', /one word/],
  ])('rejects %s', (line, message) => {
    expect(() => parseCaseLine(line, at)).toThrow(CaseSyntaxError);
    expect(() => parseCaseLine(line, at)).toThrow(message);
  });

  test('every case file parses, and the suite keeps at least 300 cases', () => {
    const cases = loadCases(fileURLToPath(new URL('../kernel/differential/', import.meta.url)));
    expect(cases.length).toBeGreaterThanOrEqual(300);
  });
});
