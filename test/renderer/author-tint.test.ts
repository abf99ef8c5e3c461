/**
 * Authorship's tint and the dark scheme's text colours read together (WCAG 2's 4.5:1 for body text):
 * every token colour on the dark editor's background, its active line, and an author's tint over
 * either, for every palette colour and for colours picked by hand; the light scheme's likewise on white.
 * axe found TypeScript's keywords and properties at 3.7-4.0:1 under Amber's tint in the dark scheme.
 */
import { describe, expect, it } from 'vitest'
import { PALETTE } from '../../src/shared/palette'
import { contrast, over } from '../../src/renderer/src/colors'
import { authorTint } from '../../src/renderer/src/collab/authorship'
import {
  DARK_ACTIVE_LINE,
  DARK_BACKGROUND,
  DARK_TEXT,
  LIGHT_ACTIVE_LINE,
  LIGHT_TEXT,
} from '../../src/renderer/src/theme'

/** `#rrggbbaa` laid over `under`, as the browser draws it. */
const drawn = (tint: string, under: string): string =>
  over(tint.slice(0, 7), under, parseInt(tint.slice(7, 9), 16) / 255)

const PICKED_BY_HAND = ['#ffffff', '#ffff00', '#00ffff', '#ff00ff', '#000000', '#808080']

/** The backgrounds text can have: `plain` ones, and every author's tint over each of them. */
function under(plain: readonly string[], dark: boolean): string[] {
  const tints = [...PALETTE.map((p) => p.color), ...PICKED_BY_HAND].map((c) => authorTint(c, dark))
  return [...plain, ...tints.flatMap((tint) => plain.map((bg) => drawn(tint, bg)))]
}

/** Each text colour under 4.5:1 on one of `backgrounds`, with the ratio. */
function unreadable(texts: Readonly<Record<string, string>>, backgrounds: readonly string[]): string[] {
  const below: string[] = []
  for (const [name, text] of Object.entries(texts)) {
    for (const bg of backgrounds) {
      const ratio = contrast(text, bg)
      if (ratio < 4.5) below.push(`${name} ${text} on ${bg}: ${ratio.toFixed(2)}`)
    }
  }
  return below
}

describe('authorship colours', () => {
  it('the active lines are drawn as the themes draw them', () => {
    expect(over('#ffffff', DARK_BACKGROUND, 0x0a / 255)).toBe(DARK_ACTIVE_LINE)
    expect(over('#cceeff', '#ffffff', 0x44 / 255)).toBe(LIGHT_ACTIVE_LINE)
  })

  it('every dark text colour reads at 4.5:1 on every dark background an author tint can make', () => {
    expect(unreadable(DARK_TEXT, under([DARK_BACKGROUND, DARK_ACTIVE_LINE], true))).toEqual([])
  })

  it('every light text colour reads at 4.5:1 on white and under every author tint', () => {
    expect(unreadable(LIGHT_TEXT, under(['#ffffff', LIGHT_ACTIVE_LINE], false))).toEqual([])
  })

  it('tints at 18% in the light scheme, and in the dark one where that keeps the text readable', () => {
    expect(authorTint('#6e56cf', false)).toBe('#6e56cf2e')
    expect(authorTint('#ffc53d', false)).toBe('#ffc53d2e')
    expect(authorTint('#6e56cf', true)).toBe('#6e56cf2e') // Violet is dark enough
    expect(parseInt(authorTint('#ffc53d', true).slice(7), 16)).toBeLessThan(0x2e) // Amber is not
    expect(parseInt(authorTint('#ffc53d', true).slice(7), 16)).toBeGreaterThan(0x0a) // but still shows
  })
})
