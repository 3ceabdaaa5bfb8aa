/**
 * The input side of `ipvsadm -R` (spec §3.12): stdin cut into lines as they arrive, and each line
 * cut into the argv of one invocation.
 *
 * Tokenisation: separators are space, TAB, CR and LF (runs collapse); no quoting, no escapes, no
 * comments; every token that is exactly `ipvsadm` is dropped wherever it stands; a token longer
 * than 4096 bytes is cut into 4096-byte pieces. Lines end at LF; a last line without LF counts.
 */

/** The longest argument ipvsadm's restore reader builds; longer tokens continue in the next one. */
export const RESTORE_TOKEN_MAX = 4096;

const SEPARATORS = new Set([0x20, 0x09, 0x0d, 0x0a]);

function toBuffer(chunk: string | Uint8Array): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * The lines of a byte stream, without their LF, grouped by the chunk that completed them: a
 * group ends where the input has nothing more buffered, which is where `-R` sends its batch.
 */
export async function* inputLineGroups(stdin: AsyncIterable<string | Uint8Array>): AsyncGenerator<Buffer[]> {
  let parts: Buffer[] = [];
  for await (const chunk of stdin) {
    let buf = toBuffer(chunk);
    const group: Buffer[] = [];
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a)) {
      parts.push(buf.subarray(0, nl));
      group.push(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
      parts = [];
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > 0) parts.push(buf);
    if (group.length > 0) yield group;
  }
  if (parts.length > 0) yield [Buffer.concat(parts)];
}

/** The argv of one restore line (possibly empty: the line is then skipped). */
export function restoreTokens(line: Uint8Array): string[] {
  const bytes = toBuffer(line);
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    while (i < bytes.length && SEPARATORS.has(bytes[i] as number)) i++;
    const start = i;
    while (i < bytes.length && !SEPARATORS.has(bytes[i] as number)) i++;
    for (let p = start; p < i; p += RESTORE_TOKEN_MAX) {
      const token = bytes.subarray(p, Math.min(i, p + RESTORE_TOKEN_MAX)).toString('utf8');
      if (token !== 'ipvsadm') out.push(token);
    }
  }
  return out;
}
