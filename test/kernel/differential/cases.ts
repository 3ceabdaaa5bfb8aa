/**
 * The differential suite's case files (`*.cases` beside this module): one case per line, read
 * by a reader as shell. The format is described in README.md here; this module only parses it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The programs a step may run; each exists as the reference (Debian) and as ours. */
export const PROGRAMS = ['ipvsadm', 'ipvsadm-save', 'ipvsadm-restore'] as const;
export type Program = (typeof PROGRAMS)[number];

/** One program run of a case. */
export interface Step {
  /** Run our side of this step as a real process (bin/…) rather than through `main()` in this process. */
  spawn: boolean;
  env: Record<string, string>;
  program: Program;
  args: string[];
  /** Standard input; undefined: none (an empty pipe). */
  stdin?: string;
}

/** One line of a case file. */
export interface Case {
  /** `file:line`, for the report. */
  where: string;
  /** The line as written (without the `!` marker). */
  text: string;
  /** Some step runs as a real process. */
  spawn: boolean;
  steps: Step[];
}

/** A case file line that does not follow the format. */
export class CaseSyntaxError extends Error {}

interface Word {
  text: string;
  /** True for an unquoted `;` or `<<<`: an operator, not an argument. */
  operator: boolean;
}

/** Splits a line into shell words: '…' literal, "…" with \" \\ \$ \` escapes, \x outside quotes. */
function words(line: string): Word[] {
  const out: Word[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let text = '';
    let quoted = false;
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new CaseSyntaxError('unterminated single quote');
        text += line.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else if (c === '"') {
        quoted = true;
        i++;
        for (;;) {
          if (i >= line.length) throw new CaseSyntaxError('unterminated double quote');
          const d = line[i]!;
          if (d === '"') break;
          if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) {
            text += line[i + 1];
            i += 2;
          } else {
            text += d;
            i++;
          }
        }
        i++;
      } else if (c === '\\') {
        if (i + 1 >= line.length) throw new CaseSyntaxError('backslash at end of line');
        text += line[i + 1];
        quoted = true;
        i += 2;
      } else {
        text += c;
        i++;
      }
    }
    out.push({ text, operator: !quoted && (text === ';' || text === '<<<' || text === '!') });
  }
  return out;
}

/** A here-string's text: \n, \t and \\ decoded, and the final newline bash adds. */
function hereString(raw: string): string {
  return raw.replace(/\\(n|t|\\)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\')) + '\n';
}

function step(ws: Word[], spawnAll: boolean): Step {
  const env: Record<string, string> = {};
  let i = 0;
  const marked = ws[0]?.operator === true && ws[0].text === '!';
  if (marked) i++;
  const spawn = spawnAll || marked;
  for (; i < ws.length; i++) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(ws[i]!.text);
    if (m === null || ws[i]!.operator) break;
    env[m[1]!] = m[2]!;
  }
  const program = ws[i]?.text;
  if (program === undefined || !(PROGRAMS as readonly string[]).includes(program)) {
    throw new CaseSyntaxError(`a step must start with ${PROGRAMS.join(', ')} (got ${program ?? 'nothing'})`);
  }
  const args: string[] = [];
  let stdin: string | undefined;
  for (i++; i < ws.length; i++) {
    const w = ws[i]!;
    if (w.operator && w.text === '<<<') {
      const body = ws[i + 1];
      if (body === undefined || body.operator || i + 2 !== ws.length) {
        throw new CaseSyntaxError('<<< takes one word and ends the step');
      }
      stdin = hereString(body.text);
      break;
    }
    args.push(w.text);
  }
  const done: Step = { spawn, env, program: program as Program, args };
  if (stdin !== undefined) done.stdin = stdin;
  return done;
}

/** Parses one line; null for blank lines and comments. */
export function parseCaseLine(line: string, where: string): Case | null {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  // A `!` before the whole line runs every step as a process; after a `;`, that step only.
  const all = /^!\s/.test(trimmed);
  const text = all ? trimmed.slice(1).trim() : trimmed;
  const steps: Step[] = [];
  let current: Word[] = [];
  for (const w of words(text)) {
    if (w.operator && w.text === ';') {
      steps.push(step(current, all));
      current = [];
    } else current.push(w);
  }
  steps.push(step(current, all));
  return { where, text, spawn: steps.some((s) => s.spawn), steps };
}

/** Every case of every `*.cases` file in `dir`, in file-name then line order. */
export function loadCases(dir: string): Case[] {
  const out: Case[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.cases')).sort()) {
    const lines = readFileSync(join(dir, name), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const where = `${name}:${i + 1}`;
      try {
        const c = parseCaseLine(line, where);
        if (c !== null) out.push(c);
      } catch (e) {
        throw new CaseSyntaxError(`${where}: ${(e as Error).message}`);
      }
    });
  }
  return out;
}

// `node dist/test/kernel/differential/cases.js DIR`: checks every line and prints the count.
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const dir = process.argv[2] ?? 'test/kernel/differential';
  try {
    const cases = loadCases(dir);
    process.stdout.write(`${cases.length} cases (${cases.filter((c) => c.spawn).length} spawned)\n`);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
