/**
 * The Open Recent list: local files, and documents that live only in Meshpad (untitled, or joined
 * from a peer), most recent first, kept in `recent.json` in the app's data folder.
 */
import { JsonFile } from './json-file'
import { docTitle } from '../../shared/doc-title'

export type RecentEntry =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'doc'; readonly docId: string; readonly title: string }

export const MAX_RECENT = 12

const DOC_ID = /^[0-9a-f]{32}$/

function validEntry(raw: unknown): RecentEntry | null {
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  if (r['kind'] === 'file' && typeof r['path'] === 'string' && r['path'] !== '') {
    return { kind: 'file', path: r['path'] }
  }
  if (r['kind'] === 'doc' && typeof r['docId'] === 'string' && DOC_ID.test(r['docId'])) {
    return { kind: 'doc', docId: r['docId'], title: typeof r['title'] === 'string' ? r['title'] : '' }
  }
  return null
}

/** Parsed JSON as a list; unusable entries are dropped one by one rather than losing the whole list. */
export function validRecentList(raw: unknown): RecentEntry[] | null {
  if (!Array.isArray(raw)) return null
  return raw
    .map(validEntry)
    .filter((e) => e !== null)
    .slice(0, MAX_RECENT)
}

const sameEntry = (a: RecentEntry, b: RecentEntry): boolean =>
  a.kind === 'file' ? b.kind === 'file' && a.path === b.path : b.kind === 'doc' && a.docId === b.docId

/** The list with `entry` first (moved there if it was already in it), at most MAX_RECENT long. */
export function withRecent(list: readonly RecentEntry[], entry: RecentEntry): RecentEntry[] {
  return [entry, ...list.filter((e) => !sameEntry(e, entry))].slice(0, MAX_RECENT)
}

/** The list without `entry` (e.g. a file that no longer exists). */
export function withoutRecent(list: readonly RecentEntry[], entry: RecentEntry): RecentEntry[] {
  return list.filter((e) => !sameEntry(e, entry))
}

/** What the menu shows for an entry. */
export function recentLabel(entry: RecentEntry): string {
  return entry.kind === 'file' ? entry.path : `${docTitle(entry.title, null)} (Meshpad document)`
}

export const recentFile = (dataDir: string): JsonFile<RecentEntry[]> =>
  new JsonFile(dataDir, 'recent.json', validRecentList, [])
