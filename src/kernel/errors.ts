let errnoNames: Map<number, string> | undefined;

/** The symbolic name of an errno value, e.g. 17 → "EEXIST". */
export function errnoName(errno: number): string {
  // node:os is loaded on the first error, not by every command's start-up.
  errnoNames ??= new Map(
    Object.entries(process.getBuiltinModule('node:os').constants.errno).map(
      ([name, value]) => [value, name],
    ),
  );
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * A request the kernel refused, or a socket failure: always carries errno, the operation that
 * failed and, when the kernel sent it, its extended-ACK text.
 */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /** Positive errno, e.g. 17 for EEXIST. */
  readonly errno: number;
  /** Symbolic errno, e.g. "EEXIST". */
  readonly code: string;
  /** The IPVS command (or socket step) that failed, e.g. "NEW_SERVICE". */
  readonly operation: string;
  /** NLMSGERR_ATTR_MSG from the kernel, if any. */
  readonly extack: string | undefined;
  /** NLMSGERR_ATTR_OFFS from the kernel, if any. */
  readonly extackOffset: number | undefined;

  constructor(operation: string, errno: number, extack?: string, extackOffset?: number) {
    const code = errnoName(errno);
    super(`${operation}: ${code}${extack ? ` (${extack})` : ''}`);
    this.errno = errno;
    this.code = code;
    this.operation = operation;
    this.extack = extack;
    this.extackOffset = extackOffset;
  }
}
