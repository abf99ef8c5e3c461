/**
 * The retention policy of deleted text (src/main/storage/README.md, "History: what is kept"): a
 * document keeps the text of its deleted characters up to a multiple of its own length (or
 * MIN_KEPT_CHARS, whichever is more), and past that drops the text of the blocks deleted longest
 * ago, keeping every ID and op (TextDoc.dropText). The user chooses the multiple (Settings, `meshpad
 * peer --keep-deleted`); Infinity keeps everything.
 *
 * A block goes only once a seal of its replica in the block form covers it (`sealedUpTo`): a peer far
 * behind then checks its ops against that seal with the block's hash in place of its text. Looking for
 * blocks to drop reads the whole history, so it runs at a compaction only when the deleted characters
 * (the tombstones, whose text may still be here) outnumber the budget, and again only once the stored
 * history has grown by a quarter since the last look (what could not go then, a block with a character
 * still visible or not sealed yet, may go by then).
 */
import type { TextDoc } from '../../shared/crdt'
import { BLOCK_COUNTERS } from '../../shared/crdt/op-stream'
import { blockHash } from '../node/stream-digest'

/** Deleted characters a document keeps the text of whatever its length: its recent undo and history. */
export const MIN_KEPT_CHARS = 65_536
/** The default multiple: deleted text kept up to four times the document's length. */
export const DEFAULT_KEEP_DELETED = 4

export interface TextRetention {
  /** Deleted text kept, at most this many times the document's length (Infinity: all of it). */
  readonly multiple: () => number
  /** How far a replica's stream is sealed in the block form (0: not at all). */
  readonly sealedUpTo: (replica: string) => number
}

/**
 * Drops what `policy` says `text` should no longer keep. `lastBytes`: the history's stored bytes once
 * saved after the last pass (0: none this session); `unsaved`: the bytes of the ops logged since the
 * last save (not in the history's chunks yet). Returns whether it looked (the caller then keeps the
 * bytes of the history it saves for the next call). Throws CrdtDecodeError if the stored history is
 * damaged.
 */
export function applyRetention(
  text: TextDoc,
  policy: TextRetention,
  lastBytes: number,
  unsaved: number,
): boolean {
  const multiple = policy.multiple()
  if (!(multiple >= 0) || multiple === Infinity) return false
  const budget = Math.max(MIN_KEPT_CHARS, multiple * text.length)
  // The deleted characters whose text may still be here: at most the tombstones. The stored history's
  // bytes stood for them, a deleted character taking a byte or so, but compressed it takes less: a
  // document whose deleted text compressed 6× kept 9× its length, never looked at.
  const bytes = text.historyBytes() + unsaved
  const deleted = text.deletedLength() ?? bytes
  if (deleted <= budget || bytes < lastBytes * 1.25) return false
  const { candidates, deletedChars } = text.droppable()
  let kept = deletedChars
  const chosen = []
  for (const c of candidates.sort((a, b) => a.deletedAt - b.deletedAt)) {
    if (kept <= budget) break
    if ((c.block + 1) * BLOCK_COUNTERS > policy.sealedUpTo(c.replica)) continue
    chosen.push(c)
    kept -= c.chars
  }
  text.dropText(chosen, blockHash)
  return true
}
