/**
 * Hybrid logical clock (Kulkarni et al., 2014): a timestamp is (wall, logical). It follows the wall
 * clock when that moves forward, and otherwise counts logically, so a timestamp issued after seeing
 * another one is always greater than it, even if this machine's clock is behind or goes backwards.
 *
 * Stamps come from peers, so they are bounded twice (docs/PROTOCOL.md, "Threat model"):
 *
 * - Statically, in every decoder: `wall ≤ MAX_WALL` and `logical ≤ MAX_LOGICAL`. `tick` never issues
 *   a stamp outside these bounds, so every stamp that can be encoded can be decoded.
 * - Against local time, for writes from peers: `wall ≤ now + MAX_DRIFT_MS` (`isTooFarAhead`). A write
 *   stamped further ahead is refused (not applied, not stored, not passed on), so it never reaches
 *   `observe`, and a peer can never push this clock more than the window ahead of the wall clock. The
 *   refusal is for now only: once local time has caught up with the stamp, the write is accepted.
 */
export interface Timestamp {
  readonly wall: number
  readonly logical: number
}

/** The largest wall time (ms since 1970) any decoder accepts: 2^48 ms, the year 10889. */
export const MAX_WALL = 2 ** 48
/** The largest logical counter any decoder accepts. */
export const MAX_LOGICAL = 0xffff_ffff
/**
 * How far ahead of local time a peer's stamp may be (1 hour). The stamps of honest peers are at most
 * as far ahead as the fastest honest clock, so clocks that are minutes apart sync as usual; a device
 * whose clock is more than an hour slow refuses newer property and member writes until its clock is
 * right (they are sent again by anti-entropy and accepted then).
 */
export const MAX_DRIFT_MS = 60 * 60 * 1000

/** Whether `t` is within the static bounds every decoder checks. */
export function isValidStamp(t: Timestamp): boolean {
  return (
    Number.isInteger(t.wall) &&
    Number.isInteger(t.logical) &&
    t.wall >= 0 &&
    t.wall <= MAX_WALL &&
    t.logical >= 0 &&
    t.logical <= MAX_LOGICAL
  )
}

/** Whether a peer's stamp is further ahead of local time `now` than the drift window allows. */
export function isTooFarAhead(t: Timestamp, now: number): boolean {
  return t.wall > now + MAX_DRIFT_MS
}

export class HybridClock {
  private wall = 0
  private logical = 0

  constructor(private readonly now: () => number) {}

  /**
   * A timestamp for a local event, greater than every timestamp issued or observed before. Within the
   * static bounds: the wall clock is read as at most MAX_WALL, and when the logical counter is full
   * the wall part moves on by 1 ms instead (2^32 events within one millisecond: never in practice).
   */
  tick(): Timestamp {
    const physical = Math.min(Math.floor(this.now()), MAX_WALL)
    if (physical > this.wall) {
      this.wall = physical
      this.logical = 0
    } else if (this.logical < MAX_LOGICAL) {
      this.logical++
    } else if (this.wall < MAX_WALL) {
      this.wall++
      this.logical = 0
    } else {
      throw new RangeError('HybridClock: no timestamp left below the bounds every peer accepts')
    }
    return { wall: this.wall, logical: this.logical }
  }

  /**
   * Takes in a timestamp seen on a remote event (or replayed from this replica's own storage). Callers
   * pass only stamps within the static bounds, and for peers' writes only after `isTooFarAhead`
   * said no; a stamp outside the static bounds is a bug and throws.
   */
  observe(t: Timestamp): void {
    if (!isValidStamp(t)) throw new RangeError(`HybridClock: stamp out of bounds (${t.wall}, ${t.logical})`)
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
