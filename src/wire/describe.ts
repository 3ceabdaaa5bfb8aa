import { readAttrs } from './attributes.js';
import { GENL_HDRLEN, IPVS_CMD_NAME, NLMSG } from './constants.js';
import type { NetlinkMessage } from './netlink.js';

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Renders an attribute area as a tree of `type=hex` items, recursing into nests. */
function describeAttrs(v: DataView, start: number, end: number, depth: number): string {
  const parts: string[] = [];
  try {
    readAttrs(v, start, end, (a) => {
      const payload = new Uint8Array(v.buffer, v.byteOffset + a.start, a.length);
      // Nests are flagged by ipvsadm but not by the kernel, so guess by structure when unflagged.
      if (depth < 3 && (a.nested || looksNested(v, a.start, a.start + a.length))) {
        parts.push(`${a.type}{${describeAttrs(v, a.start, a.start + a.length, depth + 1)}}`);
      } else {
        parts.push(`${a.type}=${hex(payload)}`);
      }
    });
  } catch (e) {
    parts.push(`!${(e as Error).message}`);
  }
  return parts.join(' ');
}

function looksNested(v: DataView, start: number, end: number): boolean {
  if (end - start < 4) return false;
  try {
    readAttrs(v, start, end, () => undefined);
    return true;
  } catch {
    return false;
  }
}

/** One line describing a netlink message, for the IPVS_DEBUG trace. */
export function describeMessage(msg: NetlinkMessage, direction: 'send' | 'recv'): string {
  const head = `${direction} type=${msg.type} flags=0x${msg.flags.toString(16)} seq=${msg.seq}`;
  if (msg.type === NLMSG.ERROR) {
    const v = new DataView(msg.body.buffer, msg.body.byteOffset, msg.body.byteLength);
    return `${head} ERROR errno=${msg.body.length >= 4 ? -v.getInt32(0, true) : '?'}`;
  }
  if (msg.type === NLMSG.DONE) return `${head} DONE`;
  if (msg.body.length < GENL_HDRLEN) return `${head} (short)`;
  const cmd = msg.body[0] as number;
  const v = new DataView(msg.body.buffer, msg.body.byteOffset, msg.body.byteLength);
  return `${head} cmd=${IPVS_CMD_NAME[cmd] ?? cmd} ${describeAttrs(v, GENL_HDRLEN, msg.body.length, 0)}`;
}
