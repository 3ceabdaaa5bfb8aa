import { closeSync, openSync, readSync, readdirSync, readlinkSync, writevSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NETLINK_GENERIC } from '../wire/index.js';

/** What the handle needs from a datagram socket; the real one is the `netlink` package's addon. */
export interface Transport {
  /** Sends the buffers as one datagram (one sendmsg), so the kernel runs them in order. */
  send(parts: Uint8Array[], done: (error?: Error) => void): void;
  /**
   * Sends the buffers as one datagram now, in this thread, throwing on failure. Present when the
   * socket's descriptor is known: generic netlink answers inside the sender's sendmsg, so the
   * replies can be read straight after with `receiveNow`, without a turn of the event loop.
   */
  sendNow?(parts: Uint8Array[]): void;
  /** One datagram already queued on the socket, or undefined when none is (EAGAIN). */
  receiveNow?(): Uint8Array | undefined;
  /**
   * The text of /proc/net/ip_vs in the socket's namespace, or undefined where it cannot be read:
   * the kernel's other listing of the same table, all real servers in one read.
   */
  readProcTable?(): string | undefined;
  onDatagram(listener: (datagram: Uint8Array) => void): void;
  onError(listener: (error: Error) => void): void;
  /** Lets the process exit while the socket is idle. */
  setIdle(idle: boolean): void;
  close(): void;
}

/** The `netlink` package's native socket (src/binding.cc), used without its JavaScript layers. */
interface NativeNetlink {
  bind(port: number, groups: number): void;
  address(): { port: number; groups: number };
  send(port: number, groups: number, data: Buffer[], done: (error?: Error) => void): void;
  setRecvBufferSize(size: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

type NativeNetlinkClass = new (
  protocol: number,
  msgBufferSize: number,
  onMessage: (msg: Buffer, info: { truncated?: number }) => void,
  onError: (error: Error) => void,
) => NativeNetlink;

/**
 * The default read size, one page, for the addon's reads and ours. The kernel allocates each dump
 * datagram at the size of the largest read the socket has seen (at least a page, at most 32 KiB),
 * with a fresh zeroed buffer, and the addon allocates and zeroes this much for every recvmsg. In
 * an A/B run under emulation (6.12, one boot), `-S -n` of 10,000 services took 16.4 s with 32 KiB
 * and 8.3 s with one page: real-server dumps are small and many.
 */
export const SMALL_DATAGRAMS = 4096;
/**
 * For the one long dump of a listing, the services: the kernel restarts that walk from the head
 * of its hash table for every datagram, so 8 times fewer datagrams skip 8 times fewer entries.
 */
export const LARGE_DATAGRAMS = 32768;
/** Asked for; the kernel caps it at net.core.rmem_max (doubled). */
const RECV_BUFFER = 4 * 1024 * 1024;

let nativeClass: NativeNetlinkClass | undefined;

/**
 * Loads the addon itself. The package's raw.js goes through node-gyp-build and an EventEmitter
 * per socket, which costs start-up time and a dispatch per datagram; the prebuild for this
 * platform is loaded directly, node-gyp-build only finds a locally built one.
 */
function loadNative(): NativeNetlinkClass {
  if (nativeClass) return nativeClass;
  const prebuild = join('prebuilds', `${process.platform}-${process.arch}`, 'node.napi.node');
  let binding: { NativeNetlink: NativeNetlinkClass } | undefined;
  // Where `npm ci` puts it, relative to the bundle in dist/ or to dist/src/kernel, tried first:
  // resolving the package walks node_modules, which a one-command start-up notices. (The
  // bundle turns import.meta.dirname into __dirname; import.meta.url would cost a URL.)
  const here = import.meta.dirname ?? dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', '../../..']) {
    const module = { exports: {} as typeof binding };
    try {
      process.dlopen(module, join(here, up, 'node_modules', 'netlink', prebuild));
      binding = module.exports;
      break;
    } catch {
      // not there
    }
  }
  if (!binding) {
    const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);
    const root = dirname(require.resolve('netlink/package.json'));
    try {
      binding = require(join(root, prebuild)) as typeof binding;
    } catch {
      binding = (require('node-gyp-build') as (dir: string) => typeof binding)(root);
    }
  }
  nativeClass = (binding as { NativeNetlink: NativeNetlinkClass }).NativeNetlink;
  return nativeClass;
}

/** How `openNetlinkTransport` opens its socket. */
export interface TransportOptions {
  /** Read size (SMALL_DATAGRAMS unless told). */
  datagramSize?: number;
  /**
   * The caller guarantees that no other thread of the process opens descriptors meanwhile (true
   * of the ipvsadm programs): the socket is then the lowest free descriptor, and only its being
   * a socket is checked, not its protocol in /proc/self/net/netlink (~7 ms of a one-command run
   * under emulation).
   */
  ownsDescriptors?: boolean;
}

/** Opens a generic-netlink socket; the kernel picks its port (bind to 0). */
export function openNetlinkTransport(options: TransportOptions = {}): Transport {
  const datagramSize = options.datagramSize ?? SMALL_DATAGRAMS;
  let datagramListener: (datagram: Uint8Array) => void = () => undefined;
  let errorListener: (error: Error) => void = () => undefined;
  const Native = loadNative();
  // The addon's constructor creates nothing before its socket, so the socket takes this number.
  const expected = lowestFreeDescriptor();
  const socket = new Native(
    NETLINK_GENERIC,
    datagramSize,
    (msg, info) => {
      if (info.truncated !== undefined) errorListener(new Error('netlink datagram truncated'));
      else datagramListener(msg);
    },
    (e) => errorListener(e),
  );
  try {
    socket.bind(0, 0);
  } catch (e) {
    socket.close();
    throw e;
  }
  try {
    socket.setRecvBufferSize(RECV_BUFFER);
  } catch {
    // A smaller buffer only lowers throughput: the handle's window keeps replies within it.
  }
  const transport: Transport = {
    send(parts, done) {
      socket.send(0, 0, parts.map(toBuffer), done);
    },
    readProcTable() {
      try {
        return readProcFile('/proc/self/net/ip_vs');
      } catch {
        return undefined;
      }
    },
    onDatagram(listener) {
      datagramListener = listener;
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
  const confirmed = expected !== undefined && (options.ownsDescriptors ? isSocket(expected) : isGenericNetlink(expected));
  const fd = confirmed ? expected : descriptorOf(socket);
  return fd === undefined ? transport : Object.assign(transport, inThisThread(fd, datagramSize));
}

/** sendNow/receiveNow on the socket's descriptor, beside the addon's event-loop half. */
function inThisThread(fd: number, datagramSize: number): Required<Pick<Transport, 'sendNow' | 'receiveNow'>> {
  const scratch = Buffer.allocUnsafe(datagramSize);
  return {
    sendNow(parts) {
      // An unconnected netlink socket writes to the kernel (port 0), as the addon's send does.
      writevSync(fd, parts);
    },
    receiveNow() {
      let size: number;
      try {
        size = readSync(fd, scratch, 0, datagramSize, null);
      } catch (e) {
        // The addon's poller made the descriptor non-blocking: nothing queued is EAGAIN.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return undefined;
        throw e;
      }
      // A copy: the decoders keep views into what they are given.
      return new Uint8Array(scratch.subarray(0, size));
    },
  };
}

/** The number the next new descriptor gets (the kernel hands out the lowest free one). */
function lowestFreeDescriptor(): number | undefined {
  try {
    const fd = openSync('/dev/null', 'r');
    closeSync(fd);
    return fd;
  } catch {
    return undefined;
  }
}

/**
 * No ipvsadm equivalent (exported for the kernel tests). Whether descriptor `fd` is a
 * generic-netlink socket: /proc/self/fd names its inode and /proc/self/net/netlink lists that
 * inode's protocol. With the number taken just before the addon's constructor, only another
 * thread opening a generic-netlink socket in between could make it someone else's: far cheaper
 * than matching every descriptor (descriptorOf).
 */
export function isGenericNetlink(fd: number): boolean {
  const inode = socketInode(fd);
  if (inode === undefined) return false;
  try {
    return netlinkSockets().some((s) => s.inode === inode && s.protocol === String(NETLINK_GENERIC));
  } catch {
    return false;
  }
}

function isSocket(fd: number): boolean {
  return socketInode(fd) !== undefined;
}

/** The inode /proc/self/fd gives descriptor `fd` when it is a socket. */
function socketInode(fd: number): string | undefined {
  try {
    const link = readlinkSync(`/proc/self/fd/${fd}`);
    return link.startsWith('socket:[') ? link.slice(8, -1) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The descriptor of the addon's socket, which the addon does not expose: the kernel lists the
 * socket (protocol, port) with its inode in /proc/self/net/netlink, and /proc/self/fd links the
 * inode to a descriptor. Undefined when either is unreadable: the socket then works only through
 * the event loop.
 */
function descriptorOf(socket: NativeNetlink): number | undefined {
  try {
    const port = String(socket.address().port);
    const row = netlinkSockets().find((s) => s.protocol === String(NETLINK_GENERIC) && s.port === port);
    if (!row) return undefined;
    const link = `socket:[${row.inode}]`;
    // The socket is usually the newest descriptor: look from the highest down.
    const names = readdirSync('/proc/self/fd');
    for (let i = names.length - 1; i >= 0; i--) {
      try {
        if (readlinkSync(`/proc/self/fd/${names[i] as string}`) === link) return Number(names[i]);
      } catch {
        // the directory's own descriptor, closed by now
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/**
 * The netlink sockets /proc/self/net/netlink lists, their protocol, port and inode as the file
 * writes them; none when its header lacks one of those columns. Throws where it cannot be read.
 */
function netlinkSockets(): { protocol: string; port: string; inode: string }[] {
  const [header = '', ...rows] = readProcFile('/proc/self/net/netlink').split('\n');
  const column = header.trim().split(/\s+/);
  const [eth, pid, ino] = [column.indexOf('Eth'), column.indexOf('Pid'), column.indexOf('Inode')];
  if (eth < 0 || pid < 0 || ino < 0) return [];
  return rows.map((r) => {
    const f = r.trim().split(/\s+/);
    return { protocol: f[eth] ?? '', port: f[pid] ?? '', inode: f[ino] ?? '' };
  });
}

/**
 * A /proc file read with plain reads into one growing buffer (readFileSync goes through stat and
 * a chunk list for these; a seq_file answers about a page per read, whatever the size asked).
 */
function readProcFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(16384);
    let used = 0;
    for (;;) {
      if (buffer.length - used < 4096) {
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, used);
        buffer = grown;
      }
      const n = readSync(fd, buffer, used, buffer.length - used, null);
      if (n === 0) break;
      used += n;
    }
    return buffer.toString('latin1', 0, used);
  } finally {
    closeSync(fd);
  }
}

function toBuffer(part: Uint8Array): Buffer {
  return Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
}
