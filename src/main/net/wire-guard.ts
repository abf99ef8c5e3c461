/**
 * Bounds what an unauthenticated stranger can make us allocate. secret-stream frames its records
 * (handshake messages included) with a 3-byte little-endian length and allocates a buffer of that length
 * as soon as the first body byte arrives: four bytes from any socket could pin 16 MiB for the whole
 * handshake deadline. This guard reads the same record headers on the raw socket, ahead of
 * secret-stream, and reports the first record above the limit so the channel is destroyed before
 * secret-stream allocates anything. Our own writes are cut into records of at most WRITE_CHUNK bytes,
 * so a Meshpad peer never trips it.
 */

/** Largest plaintext we put in one secret-stream record. */
export const WRITE_CHUNK = 64 * 1024

/** Largest record accepted: a full chunk plus secret-stream's per-record overhead, with margin. */
export const MAX_RECORD = WRITE_CHUNK + 256

const HEADER_BYTES = 3

export class RecordGuard {
  private headerSeen = 0
  private length = 0
  private remaining = 0

  constructor(private readonly maxRecord = MAX_RECORD) {}

  /** Follows the record boundaries through `chunk`; false as soon as a header announces too much. */
  accept(chunk: Uint8Array): boolean {
    let pos = 0
    while (pos < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - pos)
        this.remaining -= take
        pos += take
        continue
      }
      this.length += chunk[pos++]! * 256 ** this.headerSeen
      if (++this.headerSeen < HEADER_BYTES) continue
      if (this.length > this.maxRecord) return false
      this.remaining = this.length
      this.length = 0
      this.headerSeen = 0
    }
    return true
  }
}
