/**
 * A small seedable PRNG (sfc32 seeded through splitmix32) so that fault injection and the tests that
 * measure it, and the CRDT's randomized tests, are reproducible from one number, on every platform.
 */
export type Random = () => number

export function seededRandom(seed: number): Random {
  let s = seed >>> 0
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t / 0x1_0000_0000
  }
  for (let i = 0; i < 12; i++) next()
  return next
}
