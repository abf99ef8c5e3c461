/**
 * The replicas a CRDT has heard of, each by a small index (its agent number), with the highest counter
 * applied from each: the version vector. The local replica is agent 0. Shared by TextDoc and LwwMap.
 */
import type { VersionVector } from './types'

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
