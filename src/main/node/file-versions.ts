/**
 * What a node holds of each file of a project, as a short digest (`file-versions`, docs/PROTOCOL.md):
 * SHA-256 of the file document's four version vectors, written in a canonical order, and of its text
 * order digest (text-order.ts), cut to FILE_DIGEST_BYTES. Two nodes with equal digests hold the same
 * ops in the same order, so neither has anything to ask the other for; a node whose digest differs
 * from a peer's sends that file's `sync-request`. So an anti-entropy round, or a reconnection, costs
 * one message per 4,096 files, and only the files that differ are synced, instead of a request per
 * file (issue 15: an idle project of 2,000 files).
 *
 * Computed once per state of a document: the cache holds until the document changes
 * (`DurableDoc.changeCount`), so comparing 2,000 files that did not change costs a lookup each.
 */
import { FILE_DIGEST_BYTES, type FileVersion } from '../../shared/sync/messages'
import { toHex, utf8 } from '../../shared/sync/hex'
import { memberCrypto } from './crypto'
import type { DocSession } from './doc-session'

const cache = new WeakMap<DocSession, { changes: number; digest: Uint8Array }>()

/** The digest of what this node holds of `doc` (a file document). */
export function fileDigest(doc: DocSession): Uint8Array {
  const changes = doc.durable.changeCount
  const known = cache.get(doc)
  if (known?.changes === changes) return known.digest
  const order = doc.textOrder()
  const parts: string[] = []
  for (const vector of doc.versions()) {
    const entries = Object.entries(vector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    parts.push(entries.map(([replica, counter]) => `${replica}=${counter}`).join(','))
  }
  parts.push(toHex(order))
  const digest = memberCrypto.sha256(utf8(parts.join('|'))).slice(0, FILE_DIGEST_BYTES)
  cache.set(doc, { changes, digest })
  return digest
}

/** The digests of `docs`, for `file-versions`. */
export function fileVersions(docs: readonly DocSession[]): FileVersion[] {
  return docs.map((doc) => ({ file: doc.docId, digest: fileDigest(doc) }))
}

export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
