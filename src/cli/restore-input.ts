/**
 * The input side of `ipvsadm -R` (spec §3.12): stdin cut into lines as they arrive, and each line
 * cut into the argv of one invocation.
 *
 * Tokenisation: separators are space, TAB, CR and LF (runs collapse); no quoting, no escapes, no
 * comments; every token that is exactly `ipvsadm` is dropped wherever it stands; a token longer
 * than 4096 bytes is cut into 4096-byte pieces. Lines end at LF; a last line without LF counts.
 *
 * Lines travel as byte strings (latin1: one char per input byte), which is lossless and costs one
 * decode per chunk instead of a Buffer per line; only tokens with non-ASCII bytes are re-read as
 * UTF-8, as ipvsadm would print them.
 */

/** The longest argument ipvsadm's restore reader builds; longer tokens continue in the next one. */
export const RESTORE_TOKEN_MAX = 4096;

/**
 * The lines of a byte stream as byte strings, without their LF, grouped by the chunk that
 * completed them: a group ends where the input has nothing more buffered, which is where `-R`
 * sends its batch.
 */
export async function* inputLineGroups(stdin: AsyncIterable<string | Uint8Array>): AsyncGenerator<string[]> {
  let partial = '';
  for await (const chunk of stdin) {
    // The chunk is split before the partial line is joined to its first piece: joining first
    // would copy the whole chunk into a new flat string.
    const group = byteString(chunk).split('\n');
    group[0] = partial + (group[0] as string);
    partial = group.pop() as string;
    if (group.length > 0) yield group;
  }
  if (partial.length > 0) yield [partial];
}

function byteString(chunk: string | Uint8Array): string {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8').toString('latin1');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
}

function isSeparator(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** The argv of one restore line given as a byte string (possibly empty: the line is then skipped). */
export function restoreTokens(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && isSeparator(line.charCodeAt(i))) i++;
    const start = i;
    while (i < line.length && !isSeparator(line.charCodeAt(i))) i++;
    for (let p = start; p < i; p += RESTORE_TOKEN_MAX) {
      const token = utf8(line.slice(p, Math.min(i, p + RESTORE_TOKEN_MAX)));
      if (token !== 'ipvsadm') out.push(token);
    }
  }
  return out;
}

/** A byte string's UTF-8 reading (invalid sequences become U+FFFD, as Buffer decoding does). */
function utf8(bytes: string): string {
  return /^[\x00-\x7f]*$/.test(bytes) ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}
