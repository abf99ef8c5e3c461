/**
 * Quick open's matching (Ctrl+P): the query's characters in order anywhere in the path, case
 * ignored, ranked as people expect from editors: matches in the file's name over matches in its
 * folders, at the start of a word (after / . - _ or a space, or a capital in camelCase) over the
 * middle of one, in a row over scattered, and shorter paths first among equals. Pure.
 */

export interface FuzzyMatch {
  readonly score: number
  /** Indexes in the path of the matched characters (to highlight them). */
  readonly positions: readonly number[]
}

const SEPARATORS = new Set(['/', '.', '-', '_', ' '])

function wordStart(path: string, i: number): boolean {
  if (i === 0) return true
  const before = path[i - 1]!
  if (SEPARATORS.has(before)) return true
  const c = path[i]!
  return c !== c.toLowerCase() && before === before.toLowerCase()
}

/** Matches the query from `from` on, each character as early as it can; null if it does not fit. */
function greedy(query: string, path: string, lower: string, from: number): FuzzyMatch | null {
  const positions: number[] = []
  let at = from
  for (const q of query) {
    const i = lower.indexOf(q, at)
    if (i < 0) return null
    positions.push(i)
    at = i + 1
  }
  const nameStart = path.lastIndexOf('/') + 1
  let score = 0
  positions.forEach((p, k) => {
    score += 1
    if (k > 0 && positions[k - 1] === p - 1) score += 5
    if (wordStart(path, p)) score += 8
    if (p >= nameStart) score += 3
  })
  if (positions[0] === nameStart) score += 10
  return { score: score - path.length / 100, positions }
}

/** How well `query` matches `path`, or null if it does not. An empty query matches everything. */
export function fuzzyMatch(query: string, path: string): FuzzyMatch | null {
  const q = query.replace(/\s+/g, '').toLowerCase()
  if (q === '') return { score: -path.length / 100, positions: [] }
  const lower = path.toLowerCase()
  const whole = greedy(q, path, lower, 0)
  if (!whole) return null
  // The greedy match takes the first fit; a fit inside the file's name, or at a word start, often
  // ranks better: try starting at each place the first character starts a word.
  let best = whole
  for (let i = lower.indexOf(q[0]!, whole.positions[0]! + 1); i >= 0; i = lower.indexOf(q[0]!, i + 1)) {
    if (!wordStart(path, i)) continue
    const m = greedy(q, path, lower, i)
    if (m && m.score > best.score) best = m
  }
  return best
}

/** The paths matching `query`, best first, at most `limit`. */
export function rankPaths(
  query: string,
  paths: readonly string[],
  limit = 50,
): { path: string; match: FuzzyMatch }[] {
  const out: { path: string; match: FuzzyMatch }[] = []
  for (const path of paths) {
    const match = fuzzyMatch(query, path)
    if (match) out.push({ path, match })
  }
  out.sort((a, b) => b.match.score - a.match.score || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return out.slice(0, limit)
}
