/**
 * Byte-level encoding shared by every CRDT codec: LEB128 varints, zigzag for signed deltas,
 * length-prefixed UTF-8 strings. The reader treats its input as hostile: every length is checked
 * against the bytes that remain before anything is allocated, so a short buffer can never make it
 * allocate more than the buffer could describe, and every loop is bounded by the input length.
 */
import { CrdtDecodeError } from './types'

const utf8Encoder = new TextEncoder()
/** Strings longer than this are encoded natively, not by the per-character loop (see `utf8`). */
const LONG_STRING = 1024
/** Strings up to this length are tried as ASCII in place (`shortAscii`); below 0x80, a one-byte length. */
const SHORT_STRING = 127
/** A character outside ASCII, whose UTF-8 is not one byte a unit. */
const NON_ASCII = /[\u0080-\uffff]/
/** Units per buffer check in `taggedUnits`. */
const TAGGED_UNITS_STEP = 1 << 16
/** `take` hands over buffers from this size on (below, a copy is cheap and keeps the buffer warm). */
const HAND_OVER_FROM = 64 * 1024
// ignoreBOM: without it the decoder drops a U+FEFF at the start of every string it decodes, and a user's
// text may begin with one (text pasted from a file saved "UTF-8 with BOM"). Every string must round-trip.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class ByteWriter {
  private buf: Uint8Array
  private pos = 0

  constructor(initialSize = 64) {
    this.buf = new Uint8Array(initialSize)
  }

  private ensure(extra: number): void {
    if (this.pos + extra > this.buf.length) this.grow(extra)
  }

  private grow(extra: number): void {
    // Doubling for the usual small steps; a step larger than that gets exactly what it asks for, so
    // that a 10 MB text is not written into a 16 MB buffer (see `take`).
    const size = Math.max(this.buf.length * 2, this.pos + extra)
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.grow(1)
    this.buf[this.pos++] = b
  }

  /** Unsigned LEB128, for integers in [0, 2^53). */
  uint(n: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8)
    const buf = this.buf
    let pos = this.pos
    // 32-bit shifts while they are exact; floating-point division only for the rare larger values.
    while (n >= 0x80000000) {
      buf[pos++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80
      n >>>= 7
    }
    buf[pos++] = n
    this.pos = pos
  }

  /** Zigzag-encoded signed integer: small magnitudes of either sign take one byte. */
  int(n: number): void {
    this.uint(n >= 0 ? n * 2 : -n * 2 - 1)
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  /** Empties the writer for reuse, keeping its buffer unless it grew past `keep` bytes. */
  reset(keep = 1 << 20): void {
    this.pos = 0
    if (this.buf.length > keep) this.buf = new Uint8Array(1024)
  }

  get length(): number {
    return this.pos
  }

  /** UTF-8 bytes of `s`, without a length prefix. */
  utf8(s: string): void {
    const n = s.length
    if (n > LONG_STRING) {
      if (!NON_ASCII.test(s)) {
        // As many bytes as units: encoded in place, into a buffer of exactly that size, which `take`
        // then hands over. Encoding apart and copying in cost a second fresh buffer of the text's size,
        // which for a 10 MB file is ~35 ms of page faults on the machines measured (the scan, ~4 ms).
        this.ensure(n)
        this.pos += utf8Encoder.encodeInto(s, this.buf.subarray(this.pos)).written
        return
      }
      // TextEncoder.encode is the fast native path (a 10 MB text in ~3 ms, where the loop below takes
      // ~90 ms); one copy into place costs less than the loop.
      this.bytes(utf8Encoder.encode(s))
      return
    }
    this.ensure(n * 3)
    const buf = this.buf
    let pos = this.pos
    let i = 0
    // ASCII, the common case, byte by byte; anything else through TextEncoder.
    for (; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      buf[pos++] = c
    }
    if (i < n) pos += utf8Encoder.encodeInto(i === 0 ? s : s.slice(i), buf.subarray(pos)).written
    this.pos = pos
  }

  /**
   * For each UTF-16 code unit of `s` from `from` to `to` (exclusive): the byte `tag`, then the unit
   * as `uint` writes it. A run of continuations in a replica's op stream (op-stream.ts), which for an
   * imported file is millions of them: one loop here, not two calls a character.
   */
  taggedUnits(tag: number, s: string, from: number, to: number): void {
    for (let start = from; start < to; start += TAGGED_UNITS_STEP) {
      const stop = Math.min(to, start + TAGGED_UNITS_STEP)
      this.ensure((stop - start) * 4) // a tag and at most three bytes (a unit is below 2^16)
      const buf = this.buf
      let pos = this.pos
      for (let i = start; i < stop; i++) {
        const u = s.charCodeAt(i)
        buf[pos++] = tag
        if (u < 0x80) buf[pos++] = u
        else if (u < 0x4000) {
          buf[pos++] = (u & 0x7f) | 0x80
          buf[pos++] = u >>> 7
        } else {
          buf[pos++] = (u & 0x7f) | 0x80
          buf[pos++] = ((u >>> 7) & 0x7f) | 0x80
          buf[pos++] = u >>> 14
        }
      }
      this.pos = pos
    }
  }

  /** `n` copies of the byte `b`. */
  fill(b: number, n: number): void {
    this.ensure(n)
    this.buf.fill(b, this.pos, this.pos + n)
    this.pos += n
  }

  /** The UTF-16 code units of `s` from `from` to `to` (exclusive), two bytes each, little-endian. */
  utf16(s: string, from: number, to: number): void {
    this.ensure((to - from) * 2)
    const buf = this.buf
    let pos = this.pos
    for (let i = from; i < to; i++) {
      const u = s.charCodeAt(i)
      buf[pos++] = u & 0xff
      buf[pos++] = u >>> 8
    }
    this.pos = pos
  }

  /** A length-prefixed UTF-8 string. */
  string(s: string): void {
    if (s.length <= SHORT_STRING && this.shortAscii(s)) return
    const encoded = utf8Encoder.encode(s)
    this.uint(encoded.length)
    this.bytes(encoded)
  }

  /**
   * `string` for a short ASCII string (a replica ID: op streams write one or two an op), in place:
   * TextEncoder's call and the array it returns cost more than the loop. False, having written
   * nothing, if `s` is not ASCII.
   */
  private shortAscii(s: string): boolean {
    const n = s.length
    this.ensure(n + 1)
    const buf = this.buf
    const start = this.pos
    buf[start] = n // its length as `uint` writes it: one byte below 0x80
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) return false
      buf[start + 1 + i] = c
    }
    this.pos = start + 1 + n
    return true
  }

  /** Copies the bytes written so far into `out` at `at` (a loop for small sizes: no view object). */
  copyTo(out: Uint8Array, at: number): void {
    const n = this.pos
    if (n <= 32) {
      const buf = this.buf
      for (let i = 0; i < n; i++) out[at + i] = buf[i]!
    } else {
      out.set(this.buf.subarray(0, n), at)
    }
  }

  /** The bytes written so far, as a view that the next write may overwrite. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }

  /**
   * The bytes written, and the writer emptied for reuse. A buffer that the bytes fill exactly (a large
   * text written last: see `grow`) is handed over instead of copied, and the writer starts a new one;
   * anything else is copied, as by `finish`.
   */
  take(): Uint8Array {
    const n = this.pos
    this.pos = 0
    if (n <= HAND_OVER_FROM || n !== this.buf.length) {
      const out = n > 64 ? this.buf.slice(0, n) : this.copySmall(n)
      if (this.buf.length > 1 << 20) this.buf = new Uint8Array(1024)
      return out
    }
    const out = this.buf
    this.buf = new Uint8Array(1024)
    return out
  }

  private copySmall(n: number): Uint8Array {
    const out = new Uint8Array(n)
    const buf = this.buf
    for (let i = 0; i < n; i++) out[i] = buf[i]!
    return out
  }

  /** A copy of the bytes written. (A loop for small sizes: cheaper than slice's machinery.) */
  finish(): Uint8Array {
    const n = this.pos
    return n > 64 ? this.buf.slice(0, n) : this.copySmall(n)
  }
}

/** Where the last `varintAt` stopped: a module variable, not a returned object, on a hot path. */
export let varintEnd = 0

/**
 * The unsigned varint at `pos` of `buf` (at most 8 bytes, a safe integer), its end in `varintEnd`.
 * Read in place, without a call per byte: decoding a state runs this cold (interpreted), a few times
 * per span.
 */
export function varintAt(buf: Uint8Array, pos: number): number {
  let result = 0
  let scale = 1
  for (let i = 0; i < 8; i++) {
    if (pos >= buf.length) throw new CrdtDecodeError('unexpected end of data')
    const b = buf[pos++]!
    result += (b & 0x7f) * scale
    if (b < 0x80) {
      if (result > Number.MAX_SAFE_INTEGER) throw new CrdtDecodeError('integer out of range')
      varintEnd = pos
      return result
    }
    scale *= 0x80
  }
  throw new CrdtDecodeError('varint longer than 8 bytes')
}

export class ByteReader {
  pos = 0
  constructor(readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos
  }

  done(): boolean {
    return this.pos >= this.buf.length
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new CrdtDecodeError('unexpected end of data')
    return this.buf[this.pos++]!
  }

  uint(): number {
    const value = varintAt(this.buf, this.pos)
    this.pos = varintEnd
    return value
  }

  int(): number {
    const z = this.uint()
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2
  }

  /** A count of items that each take at least `minBytes` bytes: bounded by what remains. */
  count(minBytes = 1): number {
    const n = this.uint()
    if (n * minBytes > this.remaining) throw new CrdtDecodeError(`count ${n} exceeds the data that follows`)
    return n
  }

  bytes(n: number): Uint8Array {
    if (n > this.remaining) throw new CrdtDecodeError(`length ${n} exceeds the data that follows`)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  string(): string {
    const n = this.uint()
    const raw = this.bytes(n)
    try {
      return utf8Decoder.decode(raw)
    } catch {
      throw new CrdtDecodeError('invalid UTF-8 in string')
    }
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Whether `s` holds half of a surrogate pair alone. UTF-8 cannot encode one (TextEncoder writes U+FFFD
 * instead), so such a string would not come back as it went: every API that stores a string refuses it.
 */
export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s)

/** `s` cut to at most `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function truncateString(s: string, max: number): string {
  if (s.length <= max) return s
  const last = s.charCodeAt(max - 1)
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}

/** `s` as UTF-8 bytes (a lone surrogate becomes U+FFFD: see `hasLoneSurrogate`). */
export function encodeUtf8(s: string): Uint8Array {
  const w = new ByteWriter(s.length + 16)
  w.utf8(s)
  return w.view()
}

/** `s` as UTF-16LE bytes, lone surrogates included: for text that UTF-8 cannot carry. */
export function encodeUtf16le(s: string): Uint8Array {
  const bytes = new Uint8Array(s.length * 2)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    bytes[2 * i] = c & 0xff
    bytes[2 * i + 1] = c >> 8
  }
  return bytes
}

/** UTF-16LE bytes as a string, lone surrogates included (TextDecoder would replace them). */
export function decodeUtf16le(raw: Uint8Array): string {
  if (raw.length % 2 !== 0) throw new CrdtDecodeError('UTF-16 text of an odd number of bytes')
  const parts: string[] = []
  const units = new Array<number>(Math.min(8192, raw.length >> 1))
  for (let i = 0; i < raw.length;) {
    let k = 0
    for (; k < units.length && i < raw.length; k++, i += 2) units[k] = raw[i]! | (raw[i + 1]! << 8)
    parts.push(String.fromCharCode(...units.slice(0, k)))
  }
  return parts.join('')
}

export function decodeUtf8(raw: Uint8Array): string {
  try {
    return utf8Decoder.decode(raw)
  } catch {
    throw new CrdtDecodeError('invalid UTF-8 in text')
  }
}

/** One array holding `parts` one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
