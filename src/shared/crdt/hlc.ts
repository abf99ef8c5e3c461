/**
 * Hybrid logical clock (Kulkarni et al., 2014): a timestamp is (wall, logical). It follows the wall
 * clock when that moves forward, and otherwise counts logically, so a timestamp issued after seeing
 * another one is always greater than it, even if this machine's clock is behind or goes backwards.
 */
export interface Timestamp {
  readonly wall: number
  readonly logical: number
}

export class HybridClock {
  private wall = 0
  private logical = 0

  constructor(private readonly now: () => number) {}

  /** A timestamp for a local event, greater than every timestamp issued or observed before. */
  tick(): Timestamp {
    const physical = Math.floor(this.now())
    if (physical > this.wall) {
      this.wall = physical
      this.logical = 0
    } else {
      this.logical++
    }
    return { wall: this.wall, logical: this.logical }
  }

  /** Takes in a timestamp seen on a remote event. */
  observe(t: Timestamp): void {
    if (t.wall > this.wall) {
      this.wall = t.wall
      this.logical = t.logical
    } else if (t.wall === this.wall && t.logical > this.logical) {
      this.logical = t.logical
    }
  }
}

/** Total order of (timestamp, replica): later wall, then later logical, then the larger replica ID. */
export function compareStamps(a: Timestamp, aReplica: string, b: Timestamp, bReplica: string): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  return aReplica === bReplica ? 0 : aReplica < bReplica ? -1 : 1
}
