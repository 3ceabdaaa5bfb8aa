/**
 * Replays an evidence script (fixtures/evidence/tN.sh) against our command line and a fake
 * kernel, pairing each recorded `r …` / `ri …` run of tN.out with ours.
 *
 * Only the shell the scripts use is understood: `r`, `ri`, plain `ipvsadm …` lines (also with
 * `> /tmp/file` or `2>&1`), `;` lists, one-line `for … in …; do …; done` loops, quoting,
 * `$VAR` and `$(cat /tmp/file)`, heredocs (those into /etc/hosts are kept), `echo … >> /etc/hosts`,
 * `rmmod ip_vs` (IPVS gone), `env VAR=value`, `sh /sbin/ipvsadm-save|restore`, `cat /tmp/file`,
 * `unshare -U` (no CAP_NET_ADMIN: GET_INFO gets EPERM) and `unshare -n` (an empty namespace).
 * Runs of anything else (wget, setpriv, …) are skipped, but still paired, so the order holds.
 */
import { readFileSync } from 'node:fs';
import { CONNECTIONS_FILE, main, type CliIo, type IpvsLike } from '../../../src/cli/main.js';
import { restoreScript } from '../../../src/cli/restore-script.js';
import { saveScript } from '../../../src/cli/save-script.js';
import { NetlinkError } from '../../../src/kernel/errors.js';
import { E, FakeIpvs } from './fake-ipvs.js';
import { filesResolver, testIo, type RunResult } from './cli-run.js';
import { evidenceRuns, type EvidenceRun } from './evidence.js';

/** /proc/net/ip_vs_conn with no connection: the kernel's title line only. */
export const CONN_TITLE = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n';

/** The shell's printf: the escapes the scripts use. */
export function printf(format: string): string {
  return format.replace(/\\([ntr\\'"])|%%/g, (m, c: string | undefined) => {
    if (m === '%%') return '%';
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      default:
        return c ?? m;
    }
  });
}

/** Splits at top-level `;` (not inside quotes). */
function splitList(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === '\\' && quote === '"') {
        cur += c + (line[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === quote) quote = null;
      cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (c === ';') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

interface ReplayResult {
  /** Runs compared (ours = recorded). */
  compared: number;
  /** `#index command: what differed`. */
  mismatches: string[];
  /** Runs not executed (unsupported commands). */
  skipped: string[];
}

/** One machine: its kernel, files, and whether IPVS is loaded. */
export class World {
  kernel: FakeIpvs;
  absent = false;
  hosts = '127.0.0.1 localhost\n';
  readonly files = new Map<string, string>();
  readonly vars: Record<string, string> = {};

  constructor(
    salt = 0,
    private readonly kernelVersion: '6.1' | '6.12' = '6.1',
  ) {
    this.kernel = this.newKernel();
    this.kernel.salt = salt;
  }

  /** A fresh kernel of this machine's version (6.12 also has the `twos` scheduler). */
  newKernel(): FakeIpvs {
    const k = new FakeIpvs();
    if (this.kernelVersion === '6.12') k.schedulers.add('twos');
    return k;
  }

  /** Shell words of `text`, with quotes removed and expansions done. */
  words(text: string): string[] {
    const words: string[] = [];
    let cur = '';
    let inWord = false;
    let i = 0;
    const expand = (at: number): { value: string; end: number } => {
      const sub = /^\$\(cat ([^)]+)\)/.exec(text.slice(at));
      if (sub) return { value: (this.files.get(sub[1] as string) ?? '').replace(/\n+$/, ''), end: at + sub[0].length };
      const v = /^\$(\w+)/.exec(text.slice(at));
      if (v) return { value: this.vars[v[1] as string] ?? '', end: at + v[0].length };
      return { value: '$', end: at + 1 };
    };
    while (i < text.length) {
      const c = text[i] as string;
      if (c === "'") {
        const j = text.indexOf("'", i + 1);
        cur += text.slice(i + 1, j);
        inWord = true;
        i = j + 1;
      } else if (c === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && '$"\\`'.includes(text[i + 1] ?? '')) {
            cur += text[i + 1];
            i += 2;
          } else if (text[i] === '$') {
            const r = expand(i);
            cur += r.value;
            i = r.end;
          } else {
            cur += text[i];
            i++;
          }
        }
        i++;
        inWord = true;
      } else if (c === ' ' || c === '\t') {
        if (inWord) words.push(cur);
        cur = '';
        inWord = false;
        i++;
      } else if (c === '\\') {
        cur += text[i + 1] ?? '';
        i += 2;
        inWord = true;
      } else if (c === '$') {
        const r = expand(i);
        cur += r.value;
        i = r.end;
        inWord = true;
      } else {
        cur += c;
        inWord = true;
        i++;
      }
    }
    if (inWord) words.push(cur);
    return words;
  }

  private openKernel(kind: 'normal' | 'eperm' | 'fresh'): () => Promise<IpvsLike> {
    return async () => {
      if (this.absent) throw new NetlinkError('GETFAMILY', E.ENOENT);
      if (kind === 'fresh') return this.newKernel();
      if (kind === 'eperm') {
        const k = this.newKernel();
        k.failNext.set('info', E.EPERM);
        return k;
      }
      return this.kernel;
    };
  }

  private io(argv0: string, stdin: string, kind: 'normal' | 'eperm' | 'fresh' = 'normal', env: Record<string, string> = {}): {
    io: CliIo;
    result: () => Omit<RunResult, 'rc'>;
  } {
    const files: Record<string, string> = this.absent ? {} : { [CONNECTIONS_FILE]: CONN_TITLE };
    return testIo(undefined, {
      argv0,
      stdin,
      env,
      files,
      resolver: filesResolver(this.hosts),
      openKernel: this.openKernel(kind),
    });
  }

  /** Runs one command (words already expanded); undefined when it is not one we emulate. */
  async exec(words: string[], stdin = ''): Promise<RunResult | undefined> {
    const w = [...words];
    const env: Record<string, string> = {};
    if (w[0] === 'env') {
      w.shift();
      while (w[0]?.includes('=')) {
        const [k, ...v] = (w.shift() as string).split('=');
        env[k as string] = v.join('=');
      }
    }
    let kind: 'normal' | 'eperm' | 'fresh' = 'normal';
    if (w[0] === 'unshare') {
      w.shift();
      while (w[0]?.startsWith('-')) {
        const flag = w.shift() as string;
        if (flag === '-U') kind = 'eperm';
        if (flag === '-n') kind = 'fresh';
      }
    }
    const cmd = w[0];
    if (cmd === undefined) return undefined;
    if (cmd === 'cat' && w[1] !== undefined && this.files.has(w[1])) {
      const text = this.files.get(w[1]) as string;
      return { out: text, err: '', both: text, stdoutWrites: [Buffer.byteLength(text)], rc: 0 };
    }
    if (cmd === 'sh' && w[1] === '/sbin/ipvsadm-save') {
      const { io, result } = this.io('ipvsadm', stdin, kind, env);
      const rc = await saveScript(w.slice(2), { ...io, scriptName: 'ipvsadm-save' });
      return { ...result(), rc };
    }
    if (cmd === 'sh' && w[1] === '/sbin/ipvsadm-restore') {
      const { io, result } = this.io('ipvsadm', stdin, kind, env);
      const rc = await restoreScript(w.slice(2), io);
      return { ...result(), rc };
    }
    if (cmd === 'ipvsadm' || cmd.endsWith('/ipvsadm') || cmd === '/tmp/lvs') {
      const { io, result } = this.io(cmd, stdin, kind, env);
      const rc = await main(w.slice(1), io);
      return { ...result(), rc };
    }
    return undefined;
  }
}

function describeDiff(ours: RunResult, rec: EvidenceRun): string {
  const parts: string[] = [];
  if (ours.out !== rec.out) parts.push(`stdout ${JSON.stringify(ours.out)} ≠ ${JSON.stringify(rec.out)}`);
  if (ours.err !== rec.err) parts.push(`stderr ${JSON.stringify(ours.err)} ≠ ${JSON.stringify(rec.err)}`);
  if (ours.rc !== rec.rc) parts.push(`rc ${ours.rc} ≠ ${rec.rc}`);
  return parts.join('; ');
}

/** Expands one-line `for V in LIST; do BODY; done` into its commands, with V set for each. */
function expandFor(line: string): { vars: Record<string, string>; command: string }[] | undefined {
  const m = /^for (\w+) in (.*?); do (.*); done$/.exec(line);
  if (!m) return undefined;
  if ((m[2] as string).includes('$')) return [];
  const out: { vars: Record<string, string>; command: string }[] = [];
  for (const value of (m[2] as string).split(/\s+/).filter((x) => x !== '')) {
    for (const command of splitList(m[3] as string)) out.push({ vars: { [m[1] as string]: value }, command });
  }
  return out;
}

/** Replays `script` (a file of fixtures/evidence) and compares with `outFile`'s runs. */
export async function replay(
  script: string,
  outFile: string,
  salt = 0,
  kernelVersion: '6.1' | '6.12' = '6.1',
): Promise<ReplayResult> {
  const text = readFileSync(new URL(`../fixtures/evidence/${script}`, import.meta.url), 'utf8');
  const runs = evidenceRuns(outFile);
  const world = new World(salt, kernelVersion);
  const result: ReplayResult = { compared: 0, mismatches: [], skipped: [] };
  let next = 0;
  const lines = text.split('\n');

  const record = async (command: string, isInput: boolean): Promise<void> => {
    const rec = runs[next++];
    if (!rec) throw new Error(`${outFile}: no recorded run left for ${command}`);
    const words = world.words(command);
    const input = isInput ? printf(words.shift() ?? '') : '';
    const ours = await world.exec(words, input);
    if (!ours) {
      result.skipped.push(rec.command);
      return;
    }
    result.compared++;
    const diff = describeDiff(ours, rec);
    if (diff) result.mismatches.push(`#${next - 1} ${rec.command}: ${diff}`);
  };

  const simple = async (command: string): Promise<void> => {
    let c = command.replace(/^cd \S+ && /, '');
    if (c.startsWith('r ')) return record(c.slice(2), false);
    if (c.startsWith('ri ')) return record(c.slice(3), true);
    if (/^rmmod ip_vs\b/.test(c)) {
      world.absent = true;
      return;
    }
    const hostLine = /^echo "(.*)" >> \/etc\/hosts$/.exec(c);
    if (hostLine) {
      world.hosts += `${hostLine[1]}\n`;
      return;
    }
    if (!c.startsWith('ipvsadm ')) return;
    let target: string | undefined;
    const redirect = /\s+>\s*(\S+)$/.exec(c);
    if (redirect) {
      target = redirect[1];
      c = c.slice(0, redirect.index);
    }
    c = c.replace(/\s+2>&1$/, '');
    const ours = await world.exec(world.words(c));
    if (target && ours) world.files.set(target, ours.out);
  };

  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const heredoc = /<<'?(\w+)'?$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      while (i + 1 < lines.length && lines[i + 1] !== heredoc[1]) body.push(lines[++i] as string);
      i++;
      if (/^cat >> \/etc\/hosts/.test(line)) world.hosts += body.map((l) => `${l}\n`).join('');
      continue;
    }
    const loop = expandFor(line);
    if (loop) {
      for (const { vars, command } of loop) {
        Object.assign(world.vars, vars);
        await simple(command);
      }
      continue;
    }
    for (const command of splitList(line)) await simple(command);
  }
  if (next !== runs.length) throw new Error(`${outFile}: ${runs.length - next} recorded runs not paired`);
  return result;
}
