import { AttrWriter, align4, get, putU16, putU32, readAttrs } from './attributes.js';
import {
  CTRL_ATTR,
  CTRL_CMD,
  GENL_HDRLEN,
  GENL_ID_CTRL,
  NLM_F,
  NLMSG,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR,
} from './constants.js';
import { WireError } from './errors.js';

/** One netlink message cut out of a datagram. `body` is everything after the nlmsghdr. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: Uint8Array;
}

/** A generic-netlink message body split into its genl header and attribute area. */
export interface GenlBody {
  cmd: number;
  version: number;
  attrs: Uint8Array;
}

/** What an NLMSG_ERROR carries: 0 for an ACK, else a positive errno, plus extended-ACK details. */
export interface NetlinkAck {
  errno: number;
  /** The seq of the request this answers, from the echoed header. */
  requestSeq: number;
  /** NLMSGERR_ATTR_MSG, the kernel's human-readable reason, when sent. */
  extackMessage?: string;
  /** NLMSGERR_ATTR_OFFS, the byte offset of the offending attribute in the request, when sent. */
  extackOffset?: number;
}

/** Writes nlmsghdr + genlmsghdr + attrs into `out` at `at`; returns the aligned end offset. */
export function writeGenlMessage(
  out: Uint8Array,
  at: number,
  familyId: number,
  flags: number,
  seq: number,
  cmd: number,
  version: number,
  attrs: Uint8Array,
): number {
  const len = NLMSG_HDRLEN + GENL_HDRLEN + attrs.length;
  putU32(out, at, len);
  putU16(out, at + 4, familyId);
  putU16(out, at + 6, flags);
  putU32(out, at + 8, seq >>> 0);
  putU32(out, at + 12, 0); // port id: the kernel fills in ours
  out[at + 16] = cmd;
  out[at + 17] = version;
  putU16(out, at + 18, 0);
  out.set(attrs, at + NLMSG_HDRLEN + GENL_HDRLEN);
  return at + align4(len);
}

/** Size one framed generic-netlink message takes in a batch (aligned). */
export function genlMessageSize(attrs: Uint8Array): number {
  return align4(NLMSG_HDRLEN + GENL_HDRLEN + attrs.length);
}

/** Frames one generic-netlink request as a fresh buffer. */
export function encodeGenlMessage(
  familyId: number,
  flags: number,
  seq: number,
  cmd: number,
  version: number,
  attrs: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(genlMessageSize(attrs));
  writeGenlMessage(out, 0, familyId, flags, seq, cmd, version, attrs);
  return out;
}

/** Splits one received datagram into its netlink messages; WireError on broken framing. */
export function splitMessages(datagram: Uint8Array): NetlinkMessage[] {
  const v = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const out: NetlinkMessage[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= datagram.length) {
    const len = v.getUint32(at, true);
    if (len < NLMSG_HDRLEN) throw new WireError(`netlink message length ${len} below header size`, at);
    if (at + len > datagram.length) throw new WireError(`netlink message of ${len} bytes is truncated`, at);
    out.push({
      type: v.getUint16(at + 4, true),
      flags: v.getUint16(at + 6, true),
      seq: v.getUint32(at + 8, true),
      pid: v.getUint32(at + 12, true),
      body: datagram.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align4(len);
  }
  if (at < datagram.length) throw new WireError('trailing bytes after the last netlink message', at);
  return out;
}

/** Splits a generic-netlink body into header and attributes. */
export function decodeGenlBody(body: Uint8Array): GenlBody {
  if (body.length < GENL_HDRLEN) throw new WireError('truncated generic netlink header', 0);
  return { cmd: body[0] as number, version: body[1] as number, attrs: body.subarray(GENL_HDRLEN) };
}

/** Decodes an NLMSG_ERROR message: errno (0 = ACK), the answered seq, and extended-ACK TLVs. */
export function decodeAck(msg: NetlinkMessage): NetlinkAck {
  const body = msg.body;
  if (body.length < 4 + NLMSG_HDRLEN) throw new WireError('truncated NLMSG_ERROR', 0);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const error = v.getInt32(0, true);
  // `0 - 0` keeps an ACK at +0 rather than -0.
  const ack: NetlinkAck = { errno: 0 - error, requestSeq: v.getUint32(4 + 8, true) };
  if (msg.flags & NLM_F.ACK_TLVS) {
    // The echoed request is cut to its header when CAPPED, otherwise it is whole.
    const echoed = msg.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : v.getUint32(4, true);
    if (echoed > body.length - 4) throw new WireError(`echoed request of ${echoed} bytes overruns NLMSG_ERROR`, 4);
    const start = 4 + align4(echoed);
    if (start <= body.length) {
      readAttrs(v, start, body.length, (a) => {
        if (a.type === NLMSGERR_ATTR.MSG) ack.extackMessage = get.string(v, a);
        else if (a.type === NLMSGERR_ATTR.OFFS) ack.extackOffset = get.u32(v, a);
      });
    }
  }
  return ack;
}

/** True for the control messages that end or answer a request rather than carry data. */
export function isControl(type: number): boolean {
  return type === NLMSG.ERROR || type === NLMSG.DONE || type === NLMSG.NOOP || type === NLMSG.OVERRUN;
}

/** CTRL_CMD_GETFAMILY for one family name: how a handle learns the IPVS family id. */
export function encodeGetFamily(seq: number, name: string): Uint8Array {
  const attrs = new AttrWriter(32).string(CTRL_ATTR.FAMILY_NAME, name).finish();
  return encodeGenlMessage(GENL_ID_CTRL, NLM_F.REQUEST | NLM_F.ACK, seq, CTRL_CMD.GETFAMILY, 1, attrs);
}

/** Reads CTRL_ATTR_FAMILY_ID out of a CTRL_CMD_NEWFAMILY reply. */
export function decodeFamilyId(attrs: Uint8Array): number {
  const v = new DataView(attrs.buffer, attrs.byteOffset, attrs.byteLength);
  let id: number | undefined;
  readAttrs(v, 0, v.byteLength, (a) => {
    if (a.type === CTRL_ATTR.FAMILY_ID) id = get.u16(v, a);
  });
  if (id === undefined) throw new WireError('family reply without CTRL_ATTR_FAMILY_ID', 0);
  return id;
}
