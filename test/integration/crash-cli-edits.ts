/**
 * Edits for the headless peer's crash test (crash-cli.test.ts): `edit insert`, `edit delete` and `save`
 * command lines drawn from a seeded PRNG against a model of the document's text. Insert texts come from
 * every code-point class that has broken, or could break, a text path somewhere: a leading U+FEFF (a
 * TextDecoder eats it), astral characters (a position can split their surrogate pair), NUL (C strings,
 * the text-file check), U+2028/U+2029 (JavaScript line terminators), CR/LF mixes (line-ending
 * detection), combining marks, CJK, and now and then a few KB at once (records bigger than a buffer).
 *
 * Positions are UTF-16 code units, as the peer counts them, and always fall on code-point boundaries:
 * the peer refuses an edit that would split a surrogate pair, and this test wants every edit accepted.
 */
import type { Random } from '../../src/shared/random'

export type Edit =
  | { readonly kind: 'insert'; readonly pos: number; readonly text: string; readonly command: string }
  | { readonly kind: 'delete'; readonly pos: number; readonly length: number; readonly command: string }

export type Step = Edit | { readonly kind: 'save'; readonly command: 'save' }

export const SAVE: Step = { kind: 'save', command: 'save' }

export const BOM = '\uFEFF'

const ASCII =
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'Ωmega', 'naïve', 'café', 'straße', 'ok', '', '  ']
const ASTRAL = ['😀', '\u{10FFFF}', '\u{10000}', '👍🏽', '👩‍💻', '🇫🇷', '𝄞', '𠀀', '🏳️‍🌈']
const COMBINING = ['\u0301', '\u0308', '\u0323', '\u20DD', '\u0338', '\u036F']
const SEPARATORS = ['\u2028', '\u2029', '\u0085', '\u000B', '\u000C']
// U+FFFE and U+FFFF are noncharacters, U+FFFD the replacement character: all valid text a decoder must keep.
const SPECIALS = ['\uFFFD', '\uFFFE', '\uFFFF', '\u200B', '\u200D', '\u00A0', '\u0009']

const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!
const int = (rnd: Random, min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1))

function repeat(rnd: Random, min: number, max: number, piece: () => string): string {
  let out = ''
  for (let n = int(rnd, min, max); n > 0; n--) out += piece()
  return out
}

const ascii = (rnd: Random): string => repeat(rnd, 1, 24, () => pick(rnd, ASCII.split('')))
const cjk = (rnd: Random): string =>
  repeat(rnd, 1, 12, () => {
    const ranges: [number, number][] = [
      [0x4e00, 0x9fff], // CJK unified ideographs
      [0x3041, 0x3096], // hiragana
      [0xac00, 0xd7a3], // hangul syllables
    ]
    const [lo, hi] = pick(rnd, ranges)
    return String.fromCharCode(int(rnd, lo, hi))
  })
const lines = (rnd: Random): string =>
  repeat(rnd, 1, 6, () => pick(rnd, WORDS) + pick(rnd, ['\n', '\r\n', '\n', '\r\n', '\n\n', '\r']))
const astral = (rnd: Random): string => repeat(rnd, 1, 5, () => pick(rnd, ASTRAL))
const combining = (rnd: Random): string =>
  repeat(rnd, 1, 4, () => {
    // A mark with no base now and then: an insert may well start with one.
    const base = rnd() < 0.2 ? '' : pick(rnd, ['e', 'a', 'o', 'ñ', 'ж', '字', '😀'])
    return base + repeat(rnd, 1, 3, () => pick(rnd, COMBINING))
  })
const nul = (rnd: Random): string => repeat(rnd, 1, 3, () => pick(rnd, ['\0', 'a\0', '\0b']))
const separators = (rnd: Random): string => repeat(rnd, 1, 4, () => pick(rnd, SEPARATORS) + pick(rnd, WORDS))
const specials = (rnd: Random): string => repeat(rnd, 1, 4, () => pick(rnd, SPECIALS))
const bomInside = (rnd: Random): string => ascii(rnd) + BOM + pick(rnd, [ascii, astral, cjk])(rnd)

const SMALL: readonly ((rnd: Random) => string)[] = [
  ascii,
  ascii,
  lines,
  lines,
  astral,
  combining,
  cjk,
  nul,
  separators,
  specials,
  bomInside,
]

/** A few KB of everything mixed, so a single record is bigger than any small buffer along the way. */
function large(rnd: Random): string {
  const target = int(rnd, 2048, 6144)
  let out = ''
  while (out.length < target) out += pick(rnd, SMALL)(rnd)
  return out
}

export function insertText(rnd: Random): string {
  const r = rnd()
  if (r < 0.03) return large(rnd)
  // The case of issue 16: an insert that starts with U+FEFF, alone or followed by anything.
  if (r < 0.15) return BOM + (rnd() < 0.3 ? '' : pick(rnd, SMALL)(rnd))
  if (r < 0.35) return pick(rnd, SMALL)(rnd) + pick(rnd, SMALL)(rnd)
  return pick(rnd, SMALL)(rnd)
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff

/** Whether `pos` (0..text.length) falls between two code points rather than inside a surrogate pair. */
export function isBoundary(text: string, pos: number): boolean {
  return !(pos > 0 && pos < text.length && isHigh(text.charCodeAt(pos - 1)) && isLow(text.charCodeAt(pos)))
}

/** A random code-point boundary in 0..text.length; the two ends come up often, the start above all. */
function boundary(rnd: Random, text: string): number {
  const r = rnd()
  if (r < 0.12) return 0
  if (r < 0.2) return text.length
  const pos = Math.floor(rnd() * (text.length + 1))
  return isBoundary(text, pos) ? pos : pos - 1
}

/** The end of `count` code points from `pos`, or the end of the text. */
function advance(text: string, pos: number, count: number): number {
  let end = pos
  for (let n = 0; n < count && end < text.length; n++) {
    end += isHigh(text.charCodeAt(end)) && isLow(text.charCodeAt(end + 1)) ? 2 : 1
  }
  return end
}

/** `text` with every character outside printable ASCII as \uXXXX: nothing invisible, nothing ambiguous. */
export function visible(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `text` as a JSON string in printable ASCII only. */
export const escaped = (text: string): string => visible(JSON.stringify(text))

/** The JSON string a script would send: usually the characters as they are, sometimes all escaped. */
function jsonText(rnd: Random, text: string): string {
  return rnd() < 0.8 ? JSON.stringify(text) : escaped(text)
}

export function insertAt(rnd: Random, pos: number, text: string): Edit {
  return { kind: 'insert', pos, text, command: `edit insert ${pos} ${jsonText(rnd, text)}` }
}

/**
 * The next step against `text`. Deletes get likelier as the text grows, so the document hovers at a few
 * tens of KB: big enough for many records per run, small enough that `view --json` stays cheap.
 */
export function nextStep(rnd: Random, text: string, saveChance: number): Step {
  if (rnd() < saveChance) return SAVE
  const pDelete = text.length < 64 ? 0.1 : 0.35 + 0.3 * Math.min(1, text.length / 30_000)
  if (text.length === 0 || rnd() >= pDelete) return insertAt(rnd, boundary(rnd, text), insertText(rnd))
  let pos = boundary(rnd, text)
  if (pos === text.length) pos = text.length - 1
  if (!isBoundary(text, pos)) pos--
  const r = rnd()
  const count =
    r < 0.75 ? int(rnd, 1, 8) : r < 0.97 ? int(rnd, 9, 300) : int(rnd, 300, Math.max(300, text.length))
  const length = advance(text, pos, count) - pos
  return { kind: 'delete', pos, length, command: `edit delete ${pos} ${length}` }
}

export function applyEdit(text: string, edit: Edit): string {
  return edit.kind === 'insert'
    ? text.slice(0, edit.pos) + edit.text + text.slice(edit.pos)
    : text.slice(0, edit.pos) + text.slice(edit.pos + edit.length)
}

/** The first UTF-16 index at which `a` and `b` differ, or -1 if they are equal. */
export function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i
  return a.length === b.length ? -1 : n
}
