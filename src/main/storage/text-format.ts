/**
 * How a user's text file is encoded, detected on open and kept on save, so that opening and saving an
 * unchanged file writes back exactly the same bytes.
 *
 * Encodings: UTF-8 (with or without a BOM) and UTF-16 LE/BE (by their BOM). Anything else (invalid
 * UTF-8, NUL bytes, a UTF-16 file without a BOM) is refused as "not text" rather than guessed at, because
 * a wrong guess would be written back and silently corrupt the file.
 *
 * Line endings: when a file uses one style throughout (LF or CRLF), the document holds LF only, which is
 * what CodeMirror works with, and CRLF files get CRLF back on save. A file that mixes styles, or has lone
 * CRs, is kept verbatim: the document holds its \r characters, since no single style would restore it.
 */
import { isUtf8 } from 'node:buffer'
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

export function decodeText(bytes: Uint8Array, path: string): { text: string; format: TextFormat } {
  const starts = (bom: number[]): boolean => bom.every((b, i) => bytes[i] === b)
  const encoding: TextEncoding = starts(BOM_UTF8)
    ? 'utf8-bom'
    : starts(BOM_LE)
      ? 'utf16le'
      : starts(BOM_BE)
        ? 'utf16be'
        : 'utf8'
  const body = bytes.subarray(encoding === 'utf8' ? 0 : encoding === 'utf8-bom' ? 3 : 2)
  let raw: string
  if (encoding === 'utf8' || encoding === 'utf8-bom') {
    // isUtf8 + Buffer decoding is several times faster than a fatal TextDecoder on big files, and the
    // checks come first so that a binary file is refused before a string is made of it.
    if (body.includes(0)) throw notText(path, 'it contains NUL bytes, so it looks like a binary file')
    if (!isUtf8(body)) throw notText(path, 'it is not valid UTF-8')
    raw = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
  } else {
    const label = encoding === 'utf16le' ? 'utf-16le' : 'utf-16be'
    try {
      // ignoreBOM keeps a second BOM as a character: the first one is the file's, and already skipped.
      raw = new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(body)
    } catch {
      throw notText(path, `it is not valid ${label.toUpperCase()}`)
    }
    if (raw.includes('\0')) throw notText(path, 'it contains NUL characters, so it looks like a binary file')
  }
  const eol = detectLineEnding(raw)
  return { text: eol === 'crlf' ? raw.replaceAll('\r\n', '\n') : raw, format: { encoding, eol } }
}

export function encodeText(text: string, format: TextFormat): Uint8Array {
  const raw = format.eol === 'crlf' ? text.replaceAll('\n', '\r\n') : text
  switch (format.encoding) {
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
