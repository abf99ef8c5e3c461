/**
 * Turning a change made to the file on disk into CRDT ops, without losing what was typed meanwhile.
 *
 * The diff is taken between the base (the text Meshpad last loaded or saved) and the new disk text, and
 * its hunks are applied as local ops to a TextDoc forked from the base state under a fresh "disk"
 * replica ID. Those ops are then merged into the live document like any peer's: edits made in the live
 * document since the base are concurrent with them, so the CRDT keeps both.
 */
import { TextDoc } from '../../shared/crdt'
import { diffHunks } from '../../shared/text-diff'

export { diffHunks, type Hunk } from '../../shared/text-diff'

/**
 * Applies the change from `base`'s text to `diskText` as local ops of `base` (which must be a fork at the
 * base under a fresh disk replica ID), and returns the batch that the live document at `liveVersion`
 * lacks: exactly those ops. Afterwards `base.toString() === diskText`, so `base` is the next base.
 */
export function diskChangeBatch(
  base: TextDoc,
  diskText: string,
  liveVersion: Record<string, number>,
): Uint8Array {
  const hunks = diffHunks(base.toString(), diskText)
  // Last hunk first, so the positions of the earlier ones still hold.
  for (let i = hunks.length - 1; i >= 0; i--) {
    const h = hunks[i]!
    if (h.deleteCount > 0) base.localDelete(h.index, h.deleteCount)
    if (h.insert.length > 0) base.localInsert(h.index, h.insert)
  }
  return base.changesSince(liveVersion)
}
