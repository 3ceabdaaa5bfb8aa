/**
 * Reads the reference ipvsadm's recorded runs (fixtures/evidence/tN*.out, see its README):
 * every `### command` block with its stdout, stderr and exit status.
 */
import { readFileSync } from 'node:fs';

export interface EvidenceRun {
  /** The command line as the script printed it, without `### `. */
  command: string;
  /** stdout, each line with its newline. */
  out: string;
  /** stderr, each line with its newline. */
  err: string;
  rc?: number;
}

const cache = new Map<string, string>();

/** The raw text of one evidence file, e.g. `t4.out` or `t5.612.out`. */
export function evidenceText(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`../fixtures/evidence/${file}`, import.meta.url), 'latin1');
    cache.set(file, text);
  }
  return text;
}

/** Every `###` block of a file, in order. */
export function evidenceRuns(file: string): EvidenceRun[] {
  const lines = evidenceText(file).split('\n');
  // t1.612.out was recorded without the `$` end markers.
  const marked = lines.some((l) => l.startsWith('  OUT|') && l.endsWith('$'));
  const strip = (l: string): string => (marked && l.endsWith('$') ? l.slice(0, -1) : l);
  const runs: EvidenceRun[] = [];
  let cur: EvidenceRun | undefined;
  for (const l of lines) {
    if (l.startsWith('### ')) {
      cur = { command: l.slice(4), out: '', err: '' };
      runs.push(cur);
    } else if (cur && l.startsWith('  OUT|')) cur.out += `${strip(l.slice(6))}\n`;
    else if (cur && l.startsWith('  ERR|')) cur.err += `${strip(l.slice(6))}\n`;
    else if (cur && l.startsWith('  RC=')) cur.rc = Number(l.slice(5));
  }
  return runs;
}

/** The `nth` (0-based) run of exactly `command` in `file`; throws when there is none. */
export function evidenceRun(file: string, command: string, nth = 0): EvidenceRun {
  const found = evidenceRuns(file).filter((r) => r.command === command);
  const run = found[nth];
  if (!run) throw new Error(`${file}: no run #${nth} of "${command}" (found ${found.length})`);
  return run;
}

/** stdout of the `nth` run of `command` in `file`. */
export function evidenceOut(file: string, command: string, nth = 0): string {
  return evidenceRun(file, command, nth).out;
}

/** The raw lines of `file` between the line `start` and the next line starting with `end` (exclusive). */
export function evidenceSection(file: string, start: string, end: string): string[] {
  const lines = evidenceText(file).split('\n');
  const i = lines.indexOf(start);
  if (i === -1) throw new Error(`${file}: no line "${start}"`);
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.startsWith(end)) break;
    out.push(l);
  }
  return out;
}
