import { describe, expect, it } from 'vitest'
import { assignColors, colorName, colorOf, PALETTE } from '../../src/shared/palette'
import { seededRandom } from '../../src/shared/random'

/** Random device keys (hex), from a seed. */
function devices(seed: number, n: number): string[] {
  const random = seededRandom(seed)
  return Array.from({ length: n }, () =>
    Array.from({ length: 64 }, () => Math.floor(random() * 16).toString(16)).join(''),
  )
}

describe('people’s colours', () => {
  it('gives up to ten people distinct colours, whatever their keys, the same in any order', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const people = devices(seed, 1 + (seed % 10)).map((device) => ({ device, chosen: null }))
      const colors = assignColors(people)
      expect(new Set(colors.values()).size, `seed ${seed}`).toBe(people.length)
      expect(assignColors([...people].reverse()), `seed ${seed}`).toEqual(colors)
    }
  })

  it('keeps a person’s default while no one present has it', () => {
    const [a, b] = devices(7, 2) as [string, string]
    if (colorOf(a) !== colorOf(b)) {
      expect(
        assignColors([
          { device: a, chosen: null },
          { device: b, chosen: null },
        ]).get(b),
      ).toBe(colorOf(b))
    }
    expect(assignColors([{ device: a, chosen: null }]).get(a)).toBe(colorOf(a))
  })

  it('lets a chosen colour win: shared on purpose, and a default that collides with it moves', () => {
    const [a, b, c] = devices(3, 3) as [string, string, string]
    const teal = '#12a594'
    const colors = assignColors([
      { device: a, chosen: teal },
      { device: b, chosen: teal },
      { device: c, chosen: null },
    ])
    expect(colors.get(a)).toBe(teal)
    expect(colors.get(b)).toBe(teal)
    expect(colors.get(c)).not.toBe(teal)
    // Someone whose default is the colour another chose moves off it.
    const owner = devices(11, 50).find((d) => colorOf(d) === teal)!
    expect(
      assignColors([
        { device: owner, chosen: null },
        { device: a, chosen: teal },
      ]).get(owner),
    ).not.toBe(teal)
  })

  it('names every swatch, and a colour from elsewhere as custom', () => {
    for (const p of PALETTE) expect(colorName(p.color)).toMatch(/^[A-Z][a-z]+$/)
    expect(new Set(PALETTE.map((p) => p.name)).size).toBe(PALETTE.length)
    expect(colorName('#123456')).toBe('Custom colour')
    expect(colorName('#E5484D')).toBe('Red')
  })
})
