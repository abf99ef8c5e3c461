/**
 * Colour arithmetic for text that must stay readable (WCAG 2): relative luminance, contrast ratio, and
 * a colour laid over another at some opacity. Colours are `#rrggbb`.
 */

type Rgb = readonly [number, number, number]

const rgbOf = (color: string): Rgb =>
  [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16)) as unknown as Rgb

const hex = (rgb: Rgb): string => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`

/** WCAG's relative luminance: 0 for black, 1 for white. */
export function luminance(color: string): number {
  const [r, g, b] = rgbOf(color).map((c) => {
    const s = c / 255
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }) as unknown as Rgb
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}

/** WCAG's contrast ratio of two colours, from 1 to 21 (4.5 is the least for body text). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}

/** `color` laid over `under` at `alpha` (0 to 1), as the browser draws it. */
export function over(color: string, under: string, alpha: number): string {
  const [top, bottom] = [rgbOf(color), rgbOf(under)]
  return hex(bottom.map((c, i) => Math.round(c + (top[i]! - c) * alpha)) as unknown as Rgb)
}
