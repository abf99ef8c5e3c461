/**
 * The few statistics every benchmark suite reports, defined once so that "median" means the same in
 * every table: with an even count it is the mean of the two middle values, not either one.
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values')
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A series of runs as its median and its extremes, which show how far one run can be trusted. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export function summarize(xs: readonly number[]): Summary {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
}

/** `min–max` with `digits` decimals, the spread that the tables print next to a median. */
export function spread(xs: readonly number[], digits = 0): string {
  const { min, max } = summarize(xs)
  return `${min.toFixed(digits)}–${max.toFixed(digits)}`
}

/**
 * The order of round `round` (from 0): `items` rotated left by `round`. Over as many rounds as there are
 * items, each item runs once in each position, so no one is always first (cold machine) or last.
 */
export function rotation<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return []
  const k = ((round % items.length) + items.length) % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

/** The `p`-th percentile (0–100) by the nearest-rank method on the sorted samples. */
export function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
