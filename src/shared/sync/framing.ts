/**
 * Length-prefixed frames over any byte stream (the decrypted TCP stream in practice, which preserves no
 * message boundaries we may rely on). A frame is an unsigned LEB128 varint length followed by that many
 * payload bytes. A varint rather than a fixed 4-byte length because most frames are small (one
 * keystroke's op batch, a cursor move) and three saved bytes are a visible share of them.
 *
 * Every peer is untrusted, so the decoder is built to bound its memory: the length is checked against
 * the cap while the header is still being read (before a single payload byte is buffered), a header is
 * at most 5 bytes and must be minimal, and a frame's payload is buffered as it arrives, never allocated
 * up front from the claimed length. At no time does the decoder hold more than cap + header bytes.
 */

/** Default cap on one frame's payload: big enough for a large document's snapshot, small enough to hold. */
export const DEFAULT_MAX_FRAME_SIZE = 8 * 1024 * 1024

/** A length header is at most 5 varint bytes (35 bits), so the cap may be at most 2^32 − 1. */
export const MAX_FRAME_HEADER_SIZE = 5
const MAX_CAP = 0xffff_ffff

export type FrameErrorCode = 'FRAME_TOO_LARGE' | 'FRAME_MALFORMED'

export class FrameError extends Error {
  readonly code: FrameErrorCode
  /**
   * Frames that were complete in the same `push` before the bad one. They are valid and the peer sent
   * them before the fault, so a caller may still deliver them before it closes the stream.
   */
  readonly frames: readonly Uint8Array[]

  constructor(code: FrameErrorCode, message: string, frames: readonly Uint8Array[] = []) {
    super(message)
    this.name = 'FrameError'
    this.code = code
    this.frames = frames
  }
}

export interface FramingOptions {
  /** Largest payload accepted, in bytes (default 8 MiB). */
  readonly maxFrameSize?: number
}

function capOf(options: FramingOptions | undefined): number {
  const cap = options?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE
  if (!Number.isInteger(cap) || cap < 0 || cap > MAX_CAP) {
    throw new RangeError(`maxFrameSize must be an integer in [0, ${MAX_CAP}], got ${cap}`)
  }
  return cap
}

/** Bytes the header of a frame with this payload length takes. */
export function frameHeaderSize(length: number): number {
  let size = 1
  while (length >= 0x80) {
    length = Math.floor(length / 0x80)
    size++
  }
  return size
}

/**
 * One frame: header and payload in a new buffer. Throws `FrameError('FRAME_TOO_LARGE')` for a payload
 * above the cap, so a sender finds out at once instead of having the peer drop the connection.
 */
export function encodeFrame(payload: Uint8Array, options?: FramingOptions): Uint8Array {
  const cap = capOf(options)
  if (payload.length > cap) {
    throw new FrameError('FRAME_TOO_LARGE', `frame of ${payload.length} bytes is above the ${cap}-byte cap`)
  }
  const header = frameHeaderSize(payload.length)
  const out = new Uint8Array(header + payload.length)
  let n = payload.length
  let pos = 0
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80
    n = Math.floor(n / 0x80)
  }
  out[pos] = n
  out.set(payload, header)
  return out
}

/**
 * A plain Uint8Array copy. Not `chunk.slice()`: on a Node Buffer (what sockets hand out) `slice` is a
 * view into the same memory, so the "copy" would change under us when the chunk is reused.
 */
export function copyOf(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  const out = new Uint8Array(end - start)
  out.set(bytes.subarray(start, end))
  return out
}

/**
 * Turns chunks of a byte stream, cut anywhere, back into frames. Frames are returned as fresh copies,
 * so the caller's chunk is never retained and may be reused. After a `FrameError` the decoder stays
 * failed: the stream has lost its framing, and every later `push` throws the same error.
 */
export class FrameDecoder {
  private readonly cap: number
  /** The length being read: its value so far and how many header bytes were consumed. */
  private headerValue = 0
  private headerBytes = 0
  /** Payload length of the frame being filled, or -1 while a header is being read. */
  private bodyLength = -1
  private readonly parts: Uint8Array[] = []
  private partsBytes = 0
  private failure: FrameError | null = null

  constructor(options?: FramingOptions) {
    this.cap = capOf(options)
  }

  /**
   * Bytes held for the incomplete frame (header and payload): never more than cap + 5 between calls.
   * (While a frame that arrived in pieces is joined, its pieces and the joined copy briefly coexist.)
   */
  get bufferedBytes(): number {
    return this.headerBytes + this.partsBytes
  }

  /** True between frames: a stream that ends now ends cleanly. */
  get idle(): boolean {
    return this.headerBytes === 0 && this.bodyLength === -1 && this.failure === null
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure !== null) throw this.failure
    const frames: Uint8Array[] = []
    let pos = 0
    while (pos < chunk.length) {
      if (this.bodyLength === -1) {
        pos = this.readHeader(chunk, pos, frames)
        continue
      }
      const missing = this.bodyLength - this.partsBytes
      const available = chunk.length - pos
      if (this.partsBytes === 0 && available >= missing) {
        // The whole payload is in this chunk: one copy, no reassembly.
        frames.push(copyOf(chunk, pos, pos + missing))
        pos += missing
        this.resetHeader()
        continue
      }
      const take = Math.min(missing, available)
      this.parts.push(copyOf(chunk, pos, pos + take))
      this.partsBytes += take
      pos += take
      if (this.partsBytes === this.bodyLength) frames.push(this.finishFrame())
    }
    return frames
  }

  /**
   * Call when the stream ends: throws `FrameError('FRAME_MALFORMED')` if it stopped inside a frame
   * (a truncated frame must not pass for a clean end), otherwise does nothing.
   */
  end(): void {
    if (this.failure !== null) throw this.failure
    if (this.idle) return
    const what =
      this.bodyLength === -1
        ? `inside a frame header (${this.headerBytes} bytes)`
        : `inside a frame (${this.partsBytes} of ${this.bodyLength} bytes)`
    throw this.fail('FRAME_MALFORMED', `stream ended ${what}`, [])
  }

  /**
   * Consumes header bytes from `chunk` at `pos`; sets `bodyLength` once the header is complete (or,
   * for an empty frame, emits it at once).
   */
  private readHeader(chunk: Uint8Array, pos: number, frames: Uint8Array[]): number {
    while (pos < chunk.length) {
      const byte = chunk[pos++]!
      const index = this.headerBytes++
      this.headerValue += (byte & 0x7f) * 2 ** (7 * index)
      // The value only grows with each byte, so an oversized claim is refused as soon as it shows.
      if (this.headerValue > this.cap) {
        throw this.fail('FRAME_TOO_LARGE', `peer announced a frame above the ${this.cap}-byte cap`, frames)
      }
      if ((byte & 0x80) === 0) {
        // A trailing zero byte would make a second spelling of the same length: refuse it.
        if (byte === 0 && index > 0) {
          throw this.fail('FRAME_MALFORMED', 'frame length is not minimally encoded', frames)
        }
        this.bodyLength = this.headerValue
        if (this.bodyLength === 0) frames.push(this.finishFrame())
        return pos
      }
      if (this.headerBytes === MAX_FRAME_HEADER_SIZE) {
        throw this.fail('FRAME_MALFORMED', `frame length runs past ${MAX_FRAME_HEADER_SIZE} bytes`, frames)
      }
    }
    return pos
  }

  private finishFrame(): Uint8Array {
    let frame: Uint8Array
    if (this.parts.length === 1) {
      frame = this.parts[0]!
    } else {
      frame = new Uint8Array(this.partsBytes)
      let offset = 0
      for (const part of this.parts) {
        frame.set(part, offset)
        offset += part.length
      }
    }
    this.resetHeader()
    return frame
  }

  private resetHeader(): void {
    this.headerValue = 0
    this.headerBytes = 0
    this.bodyLength = -1
    this.parts.length = 0
    this.partsBytes = 0
  }

  private fail(code: FrameErrorCode, message: string, frames: readonly Uint8Array[]): FrameError {
    this.resetHeader()
    // Later pushes rethrow without the frames: those were already handed out with this error.
    this.failure = new FrameError(code, message)
    return new FrameError(code, message, frames)
  }
}
