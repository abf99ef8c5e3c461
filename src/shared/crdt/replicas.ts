/**
 * The replicas a CRDT has heard of, each by a small index (its agent number), with the highest counter
 * applied from each: the version vector. The local replica is agent 0. Shared by TextDoc and LwwMap.
 */
import { CrdtDecodeError, type VersionVector } from './types'

/**
 * Distinct replicas one document may hold. Honest use makes one per open window and process start
 * (thousands over years); a member minting replicas to bloat every version vector is stopped here,
 * below what a sync-request may carry (messages.ts MAX_VECTOR_ENTRIES), so honest peers still sync.
 */
export const MAX_REPLICAS = 65_536

export class Replicas {
  /** Replica ID by agent. */
  readonly ids: string[] = []
  /** Highest counter applied, by agent. */
  readonly seen: number[] = []
  private readonly agents = new Map<string, number>()

  constructor(self: string) {
    this.agent(self)
  }

  /** The agent number of a replica, assigned on first sight. */
  agent(id: string): number {
    let a = this.agents.get(id)
    if (a === undefined) {
      a = this.ids.length
      this.ids.push(id)
      this.agents.set(id, a)
      this.seen.push(0)
    }
    return a
  }

  /**
   * The agent numbers of a batch's replicas, assigned to new ones; throws CrdtDecodeError, assigning
   * nothing, if that would take the table past MAX_REPLICAS.
   */
  agentsOf(ids: readonly string[]): number[] {
    let fresh = 0
    for (const id of ids) if (!this.agents.has(id)) fresh++
    if (fresh > 0 && this.ids.length + fresh > MAX_REPLICAS) {
      throw new CrdtDecodeError(`a document holds at most ${MAX_REPLICAS} replicas; batch refused`)
    }
    return ids.map((id) => this.agent(id))
  }

  /** The agent number of a replica, if it has been seen. */
  lookup(id: string): number | undefined {
    return this.agents.get(id)
  }

  /** Replicas with at least one op applied, and their highest counters. */
  version(): VersionVector {
    const v: VersionVector = {}
    this.seen.forEach((counter, agent) => {
      if (counter > 0) v[this.ids[agent]!] = counter
    })
    return v
  }
}
