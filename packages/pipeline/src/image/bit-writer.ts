/** Writes bit fields least-significant bit first, as VP8L (and DEFLATE) pack them. */
export class LsbBitWriter {
  private buf: Uint8Array;
  private length = 0;
  private acc = 0;
  private count = 0;

  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
  }

  /** Appends the low `n` bits of `value` (n <= 24). */
  write(value: number, n: number): void {
    this.acc |= value << this.count;
    this.count += n;
    while (this.count >= 8) {
      if (this.length === this.buf.length) this.grow();
      this.buf[this.length++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.count -= 8;
    }
  }

  /** The bytes written so far, the last one zero-padded. */
  finish(): Uint8Array {
    if (this.count > 0) this.write(0, 8 - this.count);
    return this.buf.slice(0, this.length);
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }
}
