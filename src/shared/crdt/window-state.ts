/**
 * What a window opens a document with when its history is long against its text: the document as a
 * snapshot keeps it (`TextDoc.saveStateApart`, the state form and its history chunks), so that the
 * window loads it in proportion to its text and reads the history only if something needs it (the
 * History panel, a character's time). Otherwise a window gets every op as one batch (`changesSince`):
 * a file's import is one op whose batch is sent as it is, and the state form would hold its text twice.
 *
 * A window has no brotli (packing.ts), and is on the same machine: the state's sections are kept as
 * they are (compressing them took longer than the window's whole open), and a history chunk with a
 * brotli section has its sections kept as they are too (inflated only, not decoded).
 *
 *   u8 version | chunk count | state length | state | (chunk length | chunk)*
 */
import { ByteReader, ByteWriter, concatBytes } from './bytes'
import { storedWhile } from './packing'
import { chunkWithoutBrotli } from './positional-chunk'
import { TextDoc } from './text-doc'
import { CrdtDecodeError } from './types'

const VERSION = 1
/** Characters typed (every counter, deleted ones included) past which, against the text, the history is long. */
const TYPED_PER_CHAR = 4
const TYPED_BASE = 65_536

/** Whether `doc` opens faster in a window from its snapshot than from every op: its history is still encoded, and long. */
export function opensFromSnapshot(doc: TextDoc): boolean {
  return doc.historyEncoded() && doc.opCount() > TYPED_PER_CHAR * doc.length + TYPED_BASE
}

/** `doc` packed for a window (see the header). Nothing of it is kept for `doc`'s next save. */
export function packWindowState(doc: TextDoc): Uint8Array {
  const { state, history } = storedWhile(() => doc.saveStateApart({ transient: true }))
  const chunks = history.map(chunkWithoutBrotli)
  const head = new ByteWriter(16 + chunks.length * 4)
  head.byte(VERSION)
  head.uint(chunks.length)
  head.uint(state.length)
  const parts: Uint8Array[] = [head.view().slice(), state]
  for (const chunk of chunks) {
    const w = new ByteWriter(8)
    w.uint(chunk.length)
    parts.push(w.view().slice(), chunk)
  }
  return concatBytes(...parts)
}

/** A window's replica under `replica` from `packWindowState` bytes. Throws CrdtDecodeError. */
export function openWindowState(bytes: Uint8Array, replica: string): TextDoc {
  const r = new ByteReader(bytes)
  if (r.byte() !== VERSION) throw new CrdtDecodeError('unknown window state version')
  const count = r.count(1)
  const state = r.bytes(r.uint())
  const history: Uint8Array[] = []
  for (let i = 0; i < count; i++) history.push(r.bytes(r.uint()))
  if (!r.done()) throw new CrdtDecodeError('trailing bytes after a window state')
  return TextDoc.loadState(state, replica, { history })
}
