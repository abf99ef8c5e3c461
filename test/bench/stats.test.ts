import { describe, expect, it } from 'vitest'
import { benchRuns } from '../../bench/fresh-process'
import { median, rotation, spread, summarize } from '../../bench/stats'

describe('bench statistics', () => {
  it('takes the middle value of an odd count, whatever the input order', () => {
    expect(median([5, 1, 4])).toBe(4)
    expect(median([309, 492, 120, 800, 130])).toBe(309)
  })

  it('averages the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([10, 20])).toBe(15)
  })

  it('does not reorder its input', () => {
    const xs = [3, 1, 2]
    median(xs)
    expect(xs).toEqual([3, 1, 2])
  })

  it('refuses an empty series rather than reporting NaN', () => {
    expect(() => median([])).toThrow()
  })

  it('summarizes a series as median, min and max', () => {
    expect(summarize([7, 2, 9, 4, 5])).toEqual({ median: 5, min: 2, max: 9 })
    expect(spread([7.25, 2.5, 9.75], 1)).toBe('2.5–9.8')
    expect(spread([12, 3])).toBe('3–12')
  })
})

describe('round order', () => {
  const five = ['A', 'B', 'C', 'D', 'E']

  it('rotates the contenders left by one each round', () => {
    expect(rotation(five, 0)).toEqual(['A', 'B', 'C', 'D', 'E'])
    expect(rotation(five, 1)).toEqual(['B', 'C', 'D', 'E', 'A'])
    expect(rotation(five, 4)).toEqual(['E', 'A', 'B', 'C', 'D'])
    expect(rotation(five, 5)).toEqual(five)
  })

  it('puts every contender in every position once over as many rounds as contenders', () => {
    const rounds = five.map((_, r) => rotation(five, r))
    for (const round of rounds) expect([...round].sort()).toEqual(five)
    for (let pos = 0; pos < five.length; pos++) expect(rounds.map((round) => round[pos]).sort()).toEqual(five)
  })
})

describe('bench rounds', () => {
  it('defaults to the suite’s count and takes MESHPAD_BENCH_RUNS over it', () => {
    expect(benchRuns(5, undefined)).toBe(5)
    expect(benchRuns(5, '')).toBe(5)
    expect(benchRuns(5, '9')).toBe(9)
    expect(benchRuns(5, '1')).toBe(1)
  })

  it('rejects a count that is not a positive integer', () => {
    for (const bad of ['0', '-3', '2.5', 'five'])
      expect(() => benchRuns(5, bad)).toThrow(/MESHPAD_BENCH_RUNS/)
  })
})
