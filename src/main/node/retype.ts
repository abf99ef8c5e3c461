/**
 * Retype: a window's edits whose counters its node gave away meanwhile are typed again, under the
 * node's own replica, where the window made them.
 *
 * A member can attest a made-up tail of one of this device's replicas (forks.ts): the node then takes
 * those counters and goes on past them. When the replica is a window's and the window types at that
 * moment, its keystrokes arrive under counters the node now holds with other characters: applied as
 * they are, they would be dropped as duplicates (the keystroke lost, and the window showing text that
 * no one else has), and its next edits would name those characters as origins, which here are the
 * tail's. So from its first such edit on, every edit of that replica is typed again: an insert right
 * after its left origin, a delete of the characters it named, with each character the window typed
 * mapped to the one typed for it here. The window then opens the text again (with a fresh replica),
 * so a replica is retyped only while the window's edits already on their way arrive.
 */
import type { TextView } from '../storage/durable-doc'
import type { CharId, TextChange } from '../../shared/crdt'
import { hasOrigin } from '../../shared/crdt/ops'
import type { DecodedOps } from '../../shared/crdt/text-codec'

export interface RetypeHost {
  text(): Pick<TextView, 'seenOf' | 'cursorIndex' | 'indexOfId' | 'idAt' | 'length' | 'replica'>
  /** Types as this node, under its own replica: resolves once durable, as a local edit does. */
  insert(index: number, text: string): Promise<void>
  delete(index: number, length: number): Promise<void>
}

export class Retype {
  /** Per replica being retyped: the character typed here for each counter the window typed. */
  private readonly moved = new Map<string, Map<number, CharId>>()

  constructor(private readonly host: RetypeHost) {}

  /**
   * Whether the batch (this device's, from a window or a merge) must be typed again: a replica of it
   * is retyped already, or one of its ops takes a counter this node holds (nothing honest made here
   * ever sends a counter twice).
   */
  needed({ replicas, ops }: Pick<DecodedOps, 'replicas' | 'ops'>): boolean {
    const text = this.host.text()
    return ops.some((op) => {
      const replica = replicas[op.agent]!
      return this.moved.has(replica) || op.counter <= text.seenOf(replica)
    })
  }

  /** Types the batch's edits again, in order; returns its changes to the text. */
  async apply({ replicas, ops }: Pick<DecodedOps, 'replicas' | 'ops'>): Promise<TextChange[]> {
    const changes: TextChange[] = []
    for (const op of ops) {
      const replica = replicas[op.agent]!
      let moved = this.moved.get(replica)
      if (!moved) this.moved.set(replica, (moved = new Map()))
      if (op.kind === 0) {
        const left = hasOrigin(op.originLeftAgent)
          ? this.mapped({ replica: replicas[op.originLeftAgent]!, counter: op.originLeftCounter })
          : null
        const text = this.host.text()
        const index = text.cursorIndex(left) ?? text.length
        // The insert takes the next counters of this node's replica as it is called (before any wait).
        const first = text.seenOf(text.replica) + 1
        for (let i = 0; i < op.text.length; i++) {
          moved.set(op.counter + i, { replica: text.replica, counter: first + i })
        }
        await this.host.insert(index, op.text)
        changes.push({ index, deleted: 0, inserted: op.text })
      } else {
        for (let i = 0; i < op.length; i++) {
          const target = this.mapped({
            replica: replicas[op.targetAgent]!,
            counter: op.targetCounter + i,
          })
          const index = this.visibleIndex(target)
          if (index === undefined) continue // deleted already, or never here
          await this.host.delete(index, 1)
          changes.push({ index, deleted: 1, inserted: '' })
        }
      }
    }
    return changes
  }

  /** The character typed here for one the window typed, or the character itself. */
  private mapped(id: CharId): CharId {
    return this.moved.get(id.replica)?.get(id.counter) ?? id
  }

  private visibleIndex(id: CharId): number | undefined {
    const text = this.host.text()
    const index = text.indexOfId(id)
    if (index === undefined || index >= text.length) return undefined
    const at = text.idAt(index)
    return at.replica === id.replica && at.counter === id.counter ? index : undefined
  }
}
