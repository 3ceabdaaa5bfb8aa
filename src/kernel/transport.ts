import { createRequire } from 'node:module';
import { NETLINK_GENERIC } from '../wire/index.js';

/** What the handle needs from a datagram socket; the real one is netlink's RawNetlinkSocket. */
export interface Transport {
  /** Sends the buffers as one datagram (one sendmsg), so the kernel runs them in order. */
  send(parts: Uint8Array[], done: (error?: Error) => void): void;
  onDatagram(listener: (datagram: Uint8Array) => void): void;
  onError(listener: (error: Error) => void): void;
  /** Lets the process exit while the socket is idle. */
  setIdle(idle: boolean): void;
  close(): void;
}

interface RawSocket {
  send(msg: Uint8Array[], options: undefined, callback: (error?: Error) => void): void;
  on(event: 'message' | 'truncatedMessage', listener: (msg: Buffer) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  setRecvBufferSize(size: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

type RawSocketClass = new (
  protocol: number,
  options: { messagePeeking: boolean; msgBufferSize: number; recvBufferSize?: number; sendBufferSize?: number },
) => RawSocket;

/** The kernel sizes dump datagrams to our read buffer but never above 32 KiB (SKB_WITH_OVERHEAD). */
const DATAGRAM_BUFFER = 32768;
/** Asked for; the kernel caps it at net.core.rmem_max (doubled). */
const RECV_BUFFER = 4 * 1024 * 1024;

/**
 * Opens a generic-netlink socket on the `netlink` package's raw layer. Only its raw module is
 * loaded: the package root evaluates rtnetlink and nl80211 too, which costs start-up time.
 */
export function openNetlinkTransport(): Transport {
  const require = createRequire(import.meta.url);
  const { RawNetlinkSocket } = require('netlink/dist/raw.js') as { RawNetlinkSocket: RawSocketClass };
  const socket = new RawNetlinkSocket(NETLINK_GENERIC, { messagePeeking: false, msgBufferSize: DATAGRAM_BUFFER });
  try {
    socket.setRecvBufferSize(RECV_BUFFER);
  } catch {
    // A smaller buffer only lowers throughput: the handle's window keeps replies within it.
  }
  let errorListener: (error: Error) => void = () => undefined;
  socket.on('error', (e) => errorListener(e));
  return {
    send(parts, done) {
      socket.send(parts.map(toBuffer), undefined, done);
    },
    onDatagram(listener) {
      socket.on('message', (msg) => listener(msg));
      socket.on('truncatedMessage', () => errorListener(new Error('netlink datagram truncated')));
    },
    onError(listener) {
      errorListener = listener;
    },
    setIdle(idle) {
      if (idle) socket.unref();
      else socket.ref();
    },
    close() {
      socket.close();
    },
  };
}

function toBuffer(part: Uint8Array): Buffer {
  return Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
}
