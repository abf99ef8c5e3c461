/**
 * Test support for "files round-trip exactly" (issue 17): a table of files over encodings × line
 * endings × kinds of text, each with one edit, and the bytes every save must write — computed here,
 * independently of src/main/storage/text-format.ts (its encodeText is never called), from these rules:
 *
 * - a file with one line-ending style (LF or CRLF) is held with LF in the document and written back in
 *   its style; CR-only and mixed files are held verbatim;
 * - UTF-8 without a BOM, UTF-8 with one (EF BB BF), UTF-16 LE (FF FE) and BE (FE FF) are written back as
 *   they came; the first EF BB BF / FF FE / FE FF of a file is its byte-order mark, so a text that starts
 *   with U+FEFF gets a BOM in front of it (two marks), in UTF-8 without a BOM too.
 */

export type RowEncoding = 'utf8' | 'utf8-bom' | 'utf16le' | 'utf16be'
export type RowEol = 'lf' | 'crlf' | 'cr' | 'mixed'
export type RowContent = 'ascii' | 'astral' | 'feff-first' | 'nul' | 'u2028'

export const ENCODINGS: readonly RowEncoding[] = ['utf8', 'utf8-bom', 'utf16le', 'utf16be']
export const EOLS: readonly RowEol[] = ['lf', 'crlf', 'cr', 'mixed']
export const CONTENTS: readonly RowContent[] = ['ascii', 'astral', 'feff-first', 'nul', 'u2028']

export interface RoundTripRow {
  readonly name: string
  readonly encoding: RowEncoding
  readonly eol: RowEol
  readonly content: RowContent
  /** The file before Meshpad ever opened it. */
  readonly initialBytes: Uint8Array
  /** The document's text after the first open. */
  readonly openedText: string
  /** One edit, in document positions (UTF-16 code units). */
  readonly edit: { readonly index: number; readonly text: string }
  /** The document's text after the edit: unchanged by every restart from then on. */
  readonly editedText: string
  /** The file after each save of `editedText`. */
  readonly savedBytes: Uint8Array
}

/** The lines of each kind of text; the edit adds `insert` at line `at` (0: first). */
const TEXTS: Record<RowContent, { lines: string[]; insert: string; at: number; newline: boolean }> = {
  ascii: { lines: ['alpha', 'beta'], insert: 'gamma', at: 2, newline: true },
  astral: { lines: ['😀 smile', '𝄞 clef'], insert: '🎉 party 𝌆', at: 1, newline: true },
  // Typed at the very start of the document: the case of the byte-order-mark rule.
  'feff-first': { lines: ['alpha', 'beta'], insert: '\uFEFF', at: 0, newline: false },
  // Never in the file at first: a never-seen file with NUL is refused as binary.
  nul: { lines: ['alpha', 'beta'], insert: 'a\u0000b', at: 2, newline: true },
  u2028: { lines: ['one\u2028two', 'three'], insert: 'x\u2028y\u2029z', at: 0, newline: true },
}

/** The line break after line `i`, in the file and in the document. */
function lineBreak(eol: RowEol, i: number): { file: string; doc: string } {
  switch (eol) {
    case 'lf':
      return { file: '\n', doc: '\n' }
    case 'crlf':
      return { file: '\r\n', doc: '\n' }
    case 'cr':
      return { file: '\r', doc: '\r' }
    case 'mixed':
      // Held verbatim: the document keeps every \r.
      return i % 2 === 0 ? { file: '\r\n', doc: '\r\n' } : { file: '\n', doc: '\n' }
  }
}

/** The file's form of a document text (CRLF files: every \n written as \r\n). */
export function fileForm(docText: string, eol: RowEol): string {
  return eol === 'crlf' ? docText.replaceAll('\n', '\r\n') : docText
}

/** Bytes of `text` in `encoding`, BOM included where the rules want one; by hand, not by Meshpad's code. */
export function bytesOf(text: string, encoding: RowEncoding): Uint8Array {
  const bom = encoding !== 'utf8' || text.startsWith('\uFEFF') ? '\uFEFF' : ''
  const full = bom + text
  if (encoding === 'utf8' || encoding === 'utf8-bom') return new TextEncoder().encode(full)
  const out = new Uint8Array(full.length * 2)
  for (let i = 0; i < full.length; i++) {
    const unit = full.charCodeAt(i)
    const [first, second] = encoding === 'utf16le' ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff]
    out[2 * i] = first
    out[2 * i + 1] = second
  }
  return out
}

export function makeRow(encoding: RowEncoding, eol: RowEol, content: RowContent): RoundTripRow {
  const t = TEXTS[content]
  let file = ''
  let doc = ''
  let index = 0
  t.lines.forEach((line, i) => {
    if (i === t.at) index = doc.length
    const br = lineBreak(eol, i)
    file += line + br.file
    doc += line + br.doc
  })
  if (t.at === t.lines.length) index = doc.length
  // The edit's own line break is the document's (for CRLF files: LF, written back as CRLF).
  const inserted = t.insert + (t.newline ? lineBreak(eol, t.at).doc : '')
  const editedText = doc.slice(0, index) + inserted + doc.slice(index)
  // The first file has no BOM-as-text: `bytesOf` adds the encoding's own mark only.
  return {
    name: `${encoding} ${eol} ${content}`,
    encoding,
    eol,
    content,
    initialBytes: bytesOf(file, encoding),
    openedText: doc,
    edit: { index, text: inserted },
    editedText,
    savedBytes: bytesOf(fileForm(editedText, eol), encoding),
  }
}

/** Every combination: 4 encodings × 4 line endings × 5 kinds of text. */
export function fullTable(): RoundTripRow[] {
  return ENCODINGS.flatMap((e) => EOLS.flatMap((l) => CONTENTS.map((c) => makeRow(e, l, c))))
}

/**
 * A subset in which every encoding, every line ending and every kind of text appears at least once
 * (and each encoding with two line endings), for the slow path (a process per start).
 */
export function representativeRows(): RoundTripRow[] {
  return [
    makeRow('utf8', 'lf', 'astral'),
    makeRow('utf8', 'crlf', 'feff-first'),
    makeRow('utf8-bom', 'cr', 'nul'),
    makeRow('utf8-bom', 'mixed', 'u2028'),
    makeRow('utf16le', 'lf', 'nul'),
    makeRow('utf16le', 'crlf', 'u2028'),
    makeRow('utf16be', 'cr', 'ascii'),
    makeRow('utf16be', 'mixed', 'feff-first'),
  ]
}

/** A command-line argument for `edit insert`: a JSON string with everything outside printable ASCII escaped. */
export function cliString(text: string): string {
  return JSON.stringify(text).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** Bytes for a failure message: hex, with the first difference marked. */
export function describeBytes(actual: Uint8Array, expected: Uint8Array): string {
  let at = 0
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++
  const hex = (b: Uint8Array): string => Buffer.from(b.subarray(Math.max(0, at - 8), at + 16)).toString('hex')
  return `differ at byte ${at} (lengths ${actual.length}/${expected.length}): file …${hex(actual)}…, expected …${hex(expected)}…`
}
