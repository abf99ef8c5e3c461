/**
 * Seeded strings drawn from every class of code point a codec can get wrong, for the round-trip tests
 * (test/shared/crdt/unicode-roundtrip.test.ts and test/main/storage/unicode-roundtrip.test.ts).
 *
 * The class that matters most is U+FEFF: a TextDecoder without `ignoreBOM` drops it when it is the
 * first character of what it decodes (issue 16), so every generator here can force the first class.
 */
import { Prng } from './harness'

/** Every class, each with the characters (or short sequences) that stand for it. */
export const CLASSES = {
  bom: ['\uFEFF'],
  ascii: ['a', 'b', 'z', 'A', 'Q', '0', '9', ' ', '~', '"', '\\', '{'],
  nul: ['\u0000'],
  separator: ['\u2028', '\u2029'],
  astral: ['\u{1F600}', '\u{10FFFF}', '\u{10000}'],
  bmp: ['é', 'ß', '中', '文', '\uFFFD', '\uFFFE', '\uFFFF', '\u00A0'],
  combining: ['e\u0301', '\u0301', '\u0308\u0323', '\u20DD'],
  newline: ['\r\n', '\n', '\r'],
} as const satisfies Record<string, readonly string[]>

export type CharClass = keyof typeof CLASSES
export const CLASS_NAMES = Object.keys(CLASSES) as CharClass[]

/** One piece (a character or a short sequence) of the class. */
export function piece(p: Prng, cls: CharClass): string {
  return p.pick(CLASSES[cls])
}

/**
 * A string of `pieces` pieces, each of a random class; the first of class `first` when given. A quarter
 * of the pieces after the first are U+FEFF, so the character also lands in the middle and at the end.
 */
export function unicodeString(p: Prng, pieces: number, first?: CharClass): string {
  let s = first === undefined ? '' : piece(p, first)
  for (let i = s === '' ? 0 : 1; i < pieces; i++) {
    s += p.chance(0.25) ? '\uFEFF' : piece(p, p.pick(CLASS_NAMES))
  }
  return s
}

/** A class to start an insert with: U+FEFF in 40% of cases, else any class. */
export function firstClass(p: Prng): CharClass {
  return p.chance(0.4) ? 'bom' : p.pick(CLASS_NAMES)
}

/** The class of the first character of `s` (ASCII for anything not listed). */
export function classOf(s: string): CharClass {
  const first = String.fromCodePoint(s.codePointAt(0) ?? 0x61)
  for (const cls of CLASS_NAMES) {
    if ((CLASSES[cls] as readonly string[]).some((c) => c.startsWith(first))) return cls
  }
  return 'ascii'
}

/** `s` with everything outside printable ASCII escaped, for failure messages that show what differs. */
export function visible(s: string, max = 200): string {
  const shown = s.length > max ? `${s.slice(0, max)}… (${s.length} units)` : s
  return shown.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff

/** `i` moved back by one if it would fall between the two halves of a surrogate pair of `s`. */
export function boundaryAt(s: string, i: number): number {
  return i > 0 && i < s.length && isHigh(s.charCodeAt(i - 1)) && isLow(s.charCodeAt(i)) ? i - 1 : i
}
