/**
 * ipvsadm's error texts and exit statuses (spec §1.2, §6.2, §6.3): which errno becomes which
 * message, depending on the operation that failed, and the few fixed runtime messages.
 *
 * The table is ours (the spec's §6.3), not ipvsadm's code. The fallback is glibc's strerror text
 * for Linux errno values (glibc 2.36, the version of the reference's Debian 12).
 */
import { NetlinkError } from '../kernel/errors.js';

/** Exit statuses of §1.2. */
export const EXIT = {
  /** Success, `-h`, `-v`, listings that worked. */
  OK: 0,
  /** A listing failed after start-up (`No such service` for `-L <service>`, unreadable /proc, …). */
  LIST_FAILED: 1,
  /** Initialisation failure and every argument-checking "fail" message. */
  FAIL: 2,
  /** The "Try …" line, popt errors, and any kernel error of a modifying command (C's `return -1`). */
  ERROR: 255,
} as const;

/** Linux errno values the mapping names. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENOMEM: 12,
  EEXIST: 17,
  EINVAL: 22,
  ERANGE: 34,
  EBADMSG: 74,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
} as const;

/**
 * The operation whose failure is being reported (§6.3's "context"). `init` is the start-up
 * context; flushing (`-C`), the service-list dump and GET_INFO do not set a context of their own
 * and keep whatever the previous operation left (in `-R`, the previous line's).
 */
export type ErrorContext =
  | 'init'
  | 'add-service'
  | 'edit-service'
  | 'delete-service'
  | 'zero'
  | 'add-dest'
  | 'edit-dest'
  | 'delete-dest'
  | 'set-timeout'
  | 'get-timeout'
  | 'start-daemon'
  | 'stop-daemon'
  | 'get-daemon'
  | 'get-service'
  | 'get-dests';

/** Context-specific texts, first match wins (§6.3). */
const BY_CONTEXT: ReadonlyArray<readonly [ErrorContext, number, string]> = [
  ['add-service', ERRNO.EEXIST, 'Service already exists'],
  ['add-service', ERRNO.ENOENT, 'Scheduler or persistence engine not found'],
  ['edit-service', ERRNO.ESRCH, 'No such service'],
  ['edit-service', ERRNO.ENOENT, 'Scheduler or persistence engine not found'],
  ['delete-service', ERRNO.ESRCH, 'No such service'],
  ['zero', ERRNO.ESRCH, 'No such service'],
  ['add-dest', ERRNO.ESRCH, 'Service not defined'],
  ['add-dest', ERRNO.EEXIST, 'Destination already exists'],
  ['edit-dest', ERRNO.ESRCH, 'Service not defined'],
  ['edit-dest', ERRNO.ENOENT, 'No such destination'],
  ['delete-dest', ERRNO.ESRCH, 'Service not defined'],
  ['delete-dest', ERRNO.ENOENT, 'No such destination'],
  ['start-daemon', ERRNO.EEXIST, 'Daemon has already run'],
  ['stop-daemon', ERRNO.ESRCH, 'No daemon is running'],
  ['get-dests', ERRNO.ESRCH, 'No such service'],
  ['get-service', ERRNO.ESRCH, 'No such service'],
];

/** Texts for any operation (§6.3). */
const ANY_CONTEXT: ReadonlyMap<number, string> = new Map([
  [ERRNO.EPERM, 'Permission denied (you must be root)'],
  [ERRNO.EINVAL, 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
  [ERRNO.ENOPROTOOPT, 'Protocol not available'],
  [ERRNO.ENOMEM, 'Memory allocation problem'],
  [ERRNO.EOPNOTSUPP, 'Operation not supported with IPv6'],
  [ERRNO.EAFNOSUPPORT, 'Operation not supported with specified address family'],
  [ERRNO.EMSGSIZE, 'Module is wrong version'],
]);

/** glibc's strerror texts for Linux (x86-64) errno values; gaps are glibc's "Unknown error N". */
const STRERROR: ReadonlyMap<number, string> = new Map([
  [1, "Operation not permitted"],
  [2, "No such file or directory"],
  [3, "No such process"],
  [4, "Interrupted system call"],
  [5, "Input/output error"],
  [6, "No such device or address"],
  [7, "Argument list too long"],
  [8, "Exec format error"],
  [9, "Bad file descriptor"],
  [10, "No child processes"],
  [11, "Resource temporarily unavailable"],
  [12, "Cannot allocate memory"],
  [13, "Permission denied"],
  [14, "Bad address"],
  [15, "Block device required"],
  [16, "Device or resource busy"],
  [17, "File exists"],
  [18, "Invalid cross-device link"],
  [19, "No such device"],
  [20, "Not a directory"],
  [21, "Is a directory"],
  [22, "Invalid argument"],
  [23, "Too many open files in system"],
  [24, "Too many open files"],
  [25, "Inappropriate ioctl for device"],
  [26, "Text file busy"],
  [27, "File too large"],
  [28, "No space left on device"],
  [29, "Illegal seek"],
  [30, "Read-only file system"],
  [31, "Too many links"],
  [32, "Broken pipe"],
  [33, "Numerical argument out of domain"],
  [34, "Numerical result out of range"],
  [35, "Resource deadlock avoided"],
  [36, "File name too long"],
  [37, "No locks available"],
  [38, "Function not implemented"],
  [39, "Directory not empty"],
  [40, "Too many levels of symbolic links"],
  [42, "No message of desired type"],
  [43, "Identifier removed"],
  [44, "Channel number out of range"],
  [45, "Level 2 not synchronized"],
  [46, "Level 3 halted"],
  [47, "Level 3 reset"],
  [48, "Link number out of range"],
  [49, "Protocol driver not attached"],
  [50, "No CSI structure available"],
  [51, "Level 2 halted"],
  [52, "Invalid exchange"],
  [53, "Invalid request descriptor"],
  [54, "Exchange full"],
  [55, "No anode"],
  [56, "Invalid request code"],
  [57, "Invalid slot"],
  [59, "Bad font file format"],
  [60, "Device not a stream"],
  [61, "No data available"],
  [62, "Timer expired"],
  [63, "Out of streams resources"],
  [64, "Machine is not on the network"],
  [65, "Package not installed"],
  [66, "Object is remote"],
  [67, "Link has been severed"],
  [68, "Advertise error"],
  [69, "Srmount error"],
  [70, "Communication error on send"],
  [71, "Protocol error"],
  [72, "Multihop attempted"],
  [73, "RFS specific error"],
  [74, "Bad message"],
  [75, "Value too large for defined data type"],
  [76, "Name not unique on network"],
  [77, "File descriptor in bad state"],
  [78, "Remote address changed"],
  [79, "Can not access a needed shared library"],
  [80, "Accessing a corrupted shared library"],
  [81, ".lib section in a.out corrupted"],
  [82, "Attempting to link in too many shared libraries"],
  [83, "Cannot exec a shared library directly"],
  [84, "Invalid or incomplete multibyte or wide character"],
  [85, "Interrupted system call should be restarted"],
  [86, "Streams pipe error"],
  [87, "Too many users"],
  [88, "Socket operation on non-socket"],
  [89, "Destination address required"],
  [90, "Message too long"],
  [91, "Protocol wrong type for socket"],
  [92, "Protocol not available"],
  [93, "Protocol not supported"],
  [94, "Socket type not supported"],
  [95, "Operation not supported"],
  [96, "Protocol family not supported"],
  [97, "Address family not supported by protocol"],
  [98, "Address already in use"],
  [99, "Cannot assign requested address"],
  [100, "Network is down"],
  [101, "Network is unreachable"],
  [102, "Network dropped connection on reset"],
  [103, "Software caused connection abort"],
  [104, "Connection reset by peer"],
  [105, "No buffer space available"],
  [106, "Transport endpoint is already connected"],
  [107, "Transport endpoint is not connected"],
  [108, "Cannot send after transport endpoint shutdown"],
  [109, "Too many references: cannot splice"],
  [110, "Connection timed out"],
  [111, "Connection refused"],
  [112, "Host is down"],
  [113, "No route to host"],
  [114, "Operation already in progress"],
  [115, "Operation now in progress"],
  [116, "Stale file handle"],
  [117, "Structure needs cleaning"],
  [118, "Not a XENIX named type file"],
  [119, "No XENIX semaphores available"],
  [120, "Is a named type file"],
  [121, "Remote I/O error"],
  [122, "Disk quota exceeded"],
  [123, "No medium found"],
  [124, "Wrong medium type"],
  [125, "Operation canceled"],
  [126, "Required key not available"],
  [127, "Key has expired"],
  [128, "Key has been revoked"],
  [129, "Key was rejected by service"],
  [130, "Owner died"],
  [131, "State not recoverable"],
  [132, "Operation not possible due to RF-kill"],
  [133, "Memory page has hardware error"],]);

/** glibc `strerror`: the text of a (positive) errno value. */
export function strerror(errno: number): string {
  return STRERROR.get(errno) ?? `Unknown error ${errno}`;
}

/** The message ipvsadm prints for a failed kernel operation (§6.3): by context, generic, else strerror. */
export function ipvsErrorText(errno: number, context: ErrorContext): string {
  for (const [ctx, e, text] of BY_CONTEXT) if (ctx === context && e === errno) return text;
  return ANY_CONTEXT.get(errno) ?? strerror(errno);
}

/** Failures that our own layers report as NetlinkError but that did not come from the kernel. */
function isLocalFailure(e: NetlinkError): boolean {
  if (e.operation === 'socket' || e.operation === 'close') return true;
  // A reply we could not decode (missing mandatory attribute, no reply at all).
  if (e.errno === ERRNO.EBADMSG) return true;
  // A dump the kernel kept interrupting.
  return e.errno === ERRNO.EINTR && e.extack === 'dump kept being interrupted';
}

/**
 * The errno ipvsadm would report for an exception of a kernel operation: the kernel's own errno,
 * or EINVAL when the reply could not be parsed or netlink failed without a kernel errno (§6.3).
 * Anything that is not a NetlinkError is not a kernel failure: undefined.
 */
export function kernelErrno(e: unknown): number | undefined {
  if (!(e instanceof NetlinkError)) return undefined;
  return isLocalFailure(e) ? ERRNO.EINVAL : e.errno;
}

/**
 * The errno of a failed start-up (opening the socket, resolving the IPVS family, GET_INFO).
 * Without a usable IPVS family ipvsadm falls back to the old socket-option interface, which
 * answers ENOPROTOOPT when IPVS is absent: that is what it reports, and so do we. A kernel
 * refusal of GET_INFO (EPERM without CAP_NET_ADMIN) keeps its errno; an unreadable GET_INFO
 * reply is EINVAL like any other.
 */
export function initErrno(e: unknown): number {
  if (e instanceof NetlinkError) {
    if (e.operation === 'GETFAMILY' || e.operation === 'socket' || e.operation === 'close') return ERRNO.ENOPROTOOPT;
    return kernelErrno(e) ?? ERRNO.ENOPROTOOPT;
  }
  const errno = (e as { errno?: unknown } | null)?.errno;
  if (typeof errno === 'number' && errno !== 0) return Math.abs(errno);
  return ERRNO.ENOPROTOOPT;
}

/** The two lines of a failed start-up (§1.1 step 3), without the final newline. */
export function initFailureText(errno: number): string {
  return (
    `Can't initialize ipvs: ${ipvsErrorText(errno, 'init')}\n` +
    'Are you sure that IP Virtual Server is built in the kernel or as module?'
  );
}

/** The "Try …" line (§2.1 rule 1): backquote + apostrophe, then two apostrophes. */
export function tryHelpText(argv0: string): string {
  return `Try \`${argv0} -h' or '${argv0} --help' for more information.`;
}

/** §5.2 / §6.2: `-L <service>` for a service that does not exist, and other runtime texts. */
export const RUNTIME = {
  cannotOpenConnections: 'cannot open file /proc/net/ip_vs_conn',
} as const;
