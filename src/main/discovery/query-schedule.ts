/**
 * When to ask the LAN again who is there: at once, then after 1 s, 2 s, 4 s … up to a ceiling
 * (60 s), as RFC 6762 §5.2 suggests for continuous querying. `reset()` starts over, for when the
 * network changed and everything may be different.
 */
export class QuerySchedule {
  private delay: number

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    if (!(minMs > 0 && maxMs >= minMs)) throw new RangeError('discovery: need 0 < queryMinMs <= queryMaxMs')
    this.delay = minMs
  }

  /** The wait before the next query; each call doubles the following one, up to the ceiling. */
  next(): number {
    const delay = this.delay
    this.delay = Math.min(this.maxMs, this.delay * 2)
    return delay
  }

  reset(): void {
    this.delay = this.minMs
  }
}
