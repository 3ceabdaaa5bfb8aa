/** Why a byte sequence could not be decoded: raised by every decoder in this layer, never a crash. */
export class WireError extends Error {
  override readonly name = 'WireError';
  /** Byte offset into the buffer being decoded where the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.offset = offset;
  }
}
