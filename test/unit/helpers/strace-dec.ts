import { readFileSync } from 'node:fs';

/** One generic-netlink message rebuilt from a decoded strace block. */
export interface TracedMessage {
  /** The ipvsadm command line that produced it (`-A -t 10.0.0.1:80 ...`). */
  command: string;
  direction: 'sendmsg' | 'recvmsg';
  flags: string;
  cmd: number;
  /** The attribute area, byte for byte. */
  attrs: Uint8Array;
}

interface Node {
  type: number;
  nested: boolean;
  value: number[] | undefined;
  children: Node[];
}

const HEADER = /^(sendmsg|recvmsg): type=0x[0-9a-f]+\(IPVS\) flags=(\S+) len=\d+ genl cmd=(\d+):/;
const ATTR = /^(\s+)[A-Z_0-9]+\((\d+)\)( \[NLA_F_NESTED\])? len=(\d+):\s?(.*)$/;

function hexBytes(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

function valueOf(text: string, len: number): number[] | undefined {
  const b = /\(bytes ([0-9a-f]+)\)/.exec(text) ?? /^bytes ([0-9a-f]+)$/.exec(text);
  if (b) return hexBytes(b[1] as string);
  const s = /^string '(.*)'\+NUL$/.exec(text);
  if (s) return [...Buffer.from(s[1] as string, 'latin1'), 0];
  const u8 = /^u8 (\d+)$/.exec(text);
  if (u8) return [Number(u8[1])];
  if (text.trim() === '') return undefined; // a nest
  throw new Error(`cannot rebuild attribute value '${text}' (len ${len})`);
}

function serialize(nodes: Node[]): number[] {
  const out: number[] = [];
  for (const n of nodes) {
    const payload = n.value ?? serialize(n.children);
    const len = 4 + payload.length;
    const type = n.type | (n.nested ? 0x8000 : 0);
    out.push(len & 0xff, len >> 8, type & 0xff, type >> 8, ...payload);
    while (out.length % 4 !== 0) out.push(0);
  }
  return out;
}

/** Parses a decoded trace into its IPVS messages, in order. */
export function readTrace(path: string): TracedMessage[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: TracedMessage[] = [];
  let command = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const cmdLine = /^OUT> === ipvsadm (.*)$/.exec(line);
    if (cmdLine) {
      command = cmdLine[1] as string;
      continue;
    }
    const head = HEADER.exec(line);
    if (!head) continue;
    const roots: Node[] = [];
    const stack: Node[] = [];
    while (i + 1 < lines.length) {
      const m = ATTR.exec(lines[i + 1] as string);
      if (!m) break;
      i++;
      const depth = (m[1] as string).length / 2 - 1;
      const node: Node = {
        type: Number(m[2]),
        nested: m[3] !== undefined,
        value: valueOf(m[5] as string, Number(m[4])),
        children: [],
      };
      stack.length = depth;
      if (depth === 0) roots.push(node);
      else (stack[depth - 1] as Node).children.push(node);
      stack[depth] = node;
    }
    out.push({
      command,
      direction: head[1] as 'sendmsg' | 'recvmsg',
      flags: head[2] as string,
      cmd: Number(head[3]),
      attrs: Uint8Array.from(serialize(roots)),
    });
  }
  return out;
}
