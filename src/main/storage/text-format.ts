/**
 * How a user's text file is encoded, detected on open and kept on save, so that opening and saving an
 * unchanged file writes back exactly the same bytes.
 *
 * Encodings: UTF-8 (with or without a BOM) and UTF-16 LE/BE (by their BOM). Anything else (invalid
 * UTF-8, a UTF-16 file without a BOM) is refused as "not text" rather than guessed at, because a wrong
 * guess would be written back and silently corrupt the file.
 *
 * NUL: a file never seen before that holds NUL bytes (NUL characters in UTF-16) is refused as binary.
 * A file linked to a document (opened before, or written by Save / Save As) is decoded with
 * `allowNul`, since its NULs are then the document's own characters: a document in which someone typed
 * a NUL is saved with it and always reopens (linked-file.ts).
 *
 * Line endings: when a file uses one style throughout (LF or CRLF), the document holds LF only, which is
 * what CodeMirror works with, and CRLF files get CRLF back on save. A file that mixes styles, or has lone
 * CRs, is kept verbatim: the document holds its \r characters, since no single style would restore it.
 * Saving in 'crlf' turns every \n of the text into \r\n and nothing else, and `decodeAs` undoes exactly
 * that, so a \r typed into a CRLF document ("a\r\n" is saved as "a\r\r\n") comes back as typed. The
 * format is therefore kept with the document's file (linked-file.ts), not guessed again from the bytes
 * of every reopen: a CRLF typed into an LF file is saved verbatim and stays the document's text.
 *
 * Byte-order mark: following Unicode, the first EF BB BF of a UTF-8 file (FF FE / FE FF of UTF-16) is
 * always the file's BOM, never text, and it is stripped exactly once. So text that starts with U+FEFF
 * is saved with a BOM in front of it: in UTF-8 with a BOM (and UTF-16) as BOM + text, i.e. two marks; in
 * UTF-8 without a BOM the file gets one too (`savedFormat`), and is UTF-8 with a BOM from then on.
 * Otherwise the U+FEFF would be read back as the file's BOM and the text would lose it.
 */
import { isAscii, isUtf8 } from 'node:buffer'
import { StorageError } from './errors'

export type TextEncoding = 'utf8' | 'utf8-bom' | 'utf16le' | 'utf16be'
export type LineEnding = 'lf' | 'crlf' | 'verbatim'

export interface TextFormat {
  readonly encoding: TextEncoding
  readonly eol: LineEnding
}

export const DEFAULT_TEXT_FORMAT: TextFormat = { encoding: 'utf8', eol: 'lf' }

const BOM_UTF8 = [0xef, 0xbb, 0xbf]
const BOM_LE = [0xff, 0xfe]
const BOM_BE = [0xfe, 0xff]

export interface DecodeOptions {
  /** Accept NUL (a file linked to a document); otherwise a NUL means "binary" and is refused. */
  readonly allowNul?: boolean
}

/** The encoding a file's first bytes announce: its BOM, or UTF-8 without one. */
export function sniffEncoding(bytes: Uint8Array): TextEncoding {
  const starts = (bom: number[]): boolean => bom.every((b, i) => bytes[i] === b)
  return starts(BOM_UTF8) ? 'utf8-bom' : starts(BOM_LE) ? 'utf16le' : starts(BOM_BE) ? 'utf16be' : 'utf8'
}

/** Decodes a file, detecting its encoding and line endings. Throws NOT_TEXT for what is not text. */
export function decodeText(
  bytes: Uint8Array,
  path: string,
  options: DecodeOptions = {},
): { text: string; format: TextFormat } {
  const encoding = sniffEncoding(bytes)
  const raw = decodeBody(bytes, encoding, path, options.allowNul === true)
  const eol = detectLineEnding(raw)
  return { text: eol === 'crlf' ? raw.replaceAll('\r\n', '\n') : raw, format: { encoding, eol } }
}

/**
 * The bytes of a file that are exactly the UTF-8 of the text `decodeText` made of it (`format` is the
 * format it found), or null: a UTF-8 file's bytes after its BOM, unless its CRLFs became LFs.
 */
export function utf8Body(bytes: Uint8Array, format: TextFormat): Uint8Array | null {
  if (format.eol === 'crlf') return null
  if (format.encoding === 'utf8') return bytes
  if (format.encoding === 'utf8-bom') return bytes.subarray(BOM_UTF8.length)
  return null
}

/**
 * Decodes bytes that `encodeText(text, format)` made back into exactly `text` (the file's format is
 * known, e.g. kept with its document). Throws NOT_TEXT if the bytes are not in that encoding.
 */
export function decodeAs(bytes: Uint8Array, format: TextFormat, path: string): string {
  if (sniffEncoding(bytes) !== format.encoding) {
    throw notText(path, `it is not in its recorded encoding (${format.encoding})`)
  }
  const raw = decodeBody(bytes, format.encoding, path, true)
  return format.eol === 'crlf' ? raw.replaceAll('\r\n', '\n') : raw
}

function decodeBody(bytes: Uint8Array, encoding: TextEncoding, path: string, allowNul: boolean): string {
  const body = bytes.subarray(encoding === 'utf8' ? 0 : encoding === 'utf8-bom' ? 3 : 2)
  if (encoding === 'utf8' || encoding === 'utf8-bom') {
    // isUtf8 + Buffer decoding is several times faster than a fatal TextDecoder on big files, and the
    // checks come first so that a binary file is refused before a string is made of it.
    if (!allowNul && body.includes(0)) {
      throw notText(path, 'it contains NUL bytes, so it looks like a binary file')
    }
    const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    // ASCII (most source files) is its own Latin-1, which decodes without a UTF-8 decoder's work:
    // ~10 ms less for a 10 MB file.
    if (isAscii(body)) return buffer.toString('latin1')
    if (!isUtf8(body)) throw notText(path, 'it is not valid UTF-8')
    // Buffer's decoder keeps a leading U+FEFF: the file's own BOM was skipped above.
    return buffer.toString('utf8')
  }
  const label = encoding === 'utf16le' ? 'utf-16le' : 'utf-16be'
  let raw: string
  try {
    // ignoreBOM keeps a second BOM as a character: the first one is the file's, and already skipped.
    raw = new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(body)
  } catch {
    throw notText(path, `it is not valid ${label.toUpperCase()}`)
  }
  if (!allowNul && raw.includes('\0')) {
    throw notText(path, 'it contains NUL characters, so it looks like a binary file')
  }
  return raw
}

/**
 * The format a text is actually saved in: `format`, except that text starting with U+FEFF in UTF-8
 * without a BOM gets one (the first EF BB BF of a file is its BOM; see the header).
 */
export function savedFormat(text: string, format: TextFormat): TextFormat {
  return format.encoding === 'utf8' && text.charCodeAt(0) === 0xfeff
    ? { encoding: 'utf8-bom', eol: format.eol }
    : format
}

/** The file's bytes for `text` in `format` (see `savedFormat`). `decodeAs` reverses it exactly. */
export function encodeText(text: string, format: TextFormat): Uint8Array {
  const raw = format.eol === 'crlf' ? text.replaceAll('\n', '\r\n') : text
  switch (savedFormat(text, format).encoding) {
    case 'utf8':
      return view(Buffer.from(raw, 'utf8'))
    case 'utf8-bom':
      return concat(BOM_UTF8, Buffer.from(raw, 'utf8'))
    case 'utf16le':
      return concat(BOM_LE, Buffer.from(raw, 'utf16le'))
    case 'utf16be':
      return concat(BOM_BE, Buffer.from(raw, 'utf16le').swap16())
  }
}

export function detectLineEnding(text: string): LineEnding {
  // Most files have no CR at all; only those need the full count.
  if (!text.includes('\r')) return 'lf'
  let crlf = 0
  let lf = 0
  let cr = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) {
        crlf++
        i++
      } else cr++
    } else if (c === 10) lf++
  }
  if (cr > 0 || (crlf > 0 && lf > 0)) return 'verbatim'
  return crlf > 0 ? 'crlf' : 'lf'
}

export function sameFormat(a: TextFormat, b: TextFormat): boolean {
  return a.encoding === b.encoding && a.eol === b.eol
}

function notText(path: string, why: string): StorageError {
  return new StorageError(
    'NOT_TEXT',
    path,
    `Cannot open ${path} as text: ${why}. Meshpad opens UTF-8 and UTF-16 (with a byte-order mark) text files; ` +
      'convert the file to UTF-8 to edit it here. The file was not changed.',
  )
}

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

function concat(bom: number[], body: Buffer): Uint8Array {
  const out = new Uint8Array(bom.length + body.byteLength)
  out.set(bom, 0)
  out.set(body, bom.length)
  return out
}
