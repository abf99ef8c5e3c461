/**
 * Display names within one folder. Stored names stay as their writers wrote them, so two replicas
 * may each put "notes.md" in one folder, concurrently. Both files survive; the view shows them under
 * distinct names, computed from the folder's children alone, so every replica with the same tree
 * shows the same names: in each group of equal names the child placed first (by its op's order)
 * keeps the name and the others get " (2)", " (3)", … before the extension, skipping any name
 * another child of the folder already has.
 */

export interface NamedChild {
  readonly id: string
  readonly name: string
}

/**
 * Display name by child ID. `children` must be in the order their placing ops were applied (earliest
 * first): the earliest of each group of equal names keeps it. Names are equal when their `key`s are:
 * by default exactly; on a device whose file system takes names that differ only in case or Unicode
 * normalisation for one (`foldedName`), as those, so that two such files get two names there.
 */
export function displayNames(
  children: readonly NamedChild[],
  key: (name: string) => string = (name) => name,
  local: (name: string) => string = (name) => name,
): Map<string, string> {
  const out = new Map<string, string>()
  const taken = new Set<string>()
  const losers: NamedChild[] = []
  for (const child of children) {
    const c = { id: child.id, name: local(child.name) }
    const k = key(c.name)
    if (taken.has(k)) losers.push(c)
    else {
      taken.add(k)
      out.set(c.id, c.name)
    }
  }
  // Losers in placement order too, so "(2)" goes to the earlier of two late copies everywhere.
  for (const c of losers) {
    let n = 2
    while (taken.has(key(withSuffix(c.name, n)))) n++
    const name = withSuffix(c.name, n)
    taken.add(key(name))
    out.set(c.id, name)
  }
  return out
}

/** Windows' reserved device names: with any extension, in any case, a name Windows refuses. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i
/**
 * Characters no Windows name may hold (besides "/", which no name holds anywhere): control
 * characters, which is what the lint rule guards against, are the point here.
 */
// eslint-disable-next-line no-control-regex
const NOT_ON_WINDOWS = /[<>:"\\|?*\u0000-\u001f]/g

/**
 * A name Windows takes for `name`: its characters Windows refuses, and a trailing dot or space, as
 * "_"; a reserved device name with "_" after its stem ("aux.c" → "aux_.c"). Any other name as it is.
 */
export function windowsName(name: string): string {
  let n = name.replace(NOT_ON_WINDOWS, '_').replace(/[. ]$/, '_')
  const reserved = RESERVED.exec(n)
  if (reserved) n = `${reserved[1]}_${reserved[2] ?? ''}`
  return n
}

/**
 * A name as macOS's and Windows' file systems compare names (by default): case and Unicode
 * normalisation (é as one code point or two) make no difference.
 */
export const foldedName = (name: string): string => name.normalize('NFC').toLowerCase()

/** "notes.md" → "notes (2).md"; a name without an extension (or a dot file) takes it at the end. */
export function withSuffix(name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`
}
