/**
 * LwwMap: a last-writer-wins element dictionary, for a document's properties and its member list.
 *
 * Each key keeps the winning write: a value or a removal, stamped with a hybrid-logical-clock
 * timestamp (hlc.ts) and the writer's replica. The later stamp wins, ties going to the larger replica
 * ID, so a removal beats older sets and a later set beats an older removal, identically everywhere.
 * Every write also takes a counter of its replica, so version vectors, `changesSince` and parking of
 * out-of-order batches work exactly as in TextDoc. Values are stored as JSON text and parsed on read,
 * so a caller can never mutate the stored value.
 *
 * Stamps are bounded (hlc.ts): a batch holding one outside the static bounds does not decode, and a
 * batch from a peer holding one further ahead of local time than the drift window is refused by
 * `checkStampWindow` before it is applied (DocSession does this for everything peers send). Replaying
 * this replica's own storage is not checked against the window: it was checked when it arrived.
 *
 * A write may carry its author's signature (`sig`, 64 bytes): the map stores it with the write, keeps
 * it through save and load, and sends it on in every batch, so any peer can check who wrote each write
 * however it arrived. What is signed, and the check, are the node's (src/main/node/signed-props.ts):
 * the map only signs its own writes with the `signer` it is given.
 */
import { ByteReader, ByteWriter, hasLoneSurrogate } from './bytes'
import { compareStamps, HybridClock, isTooFarAhead, isValidStamp, MAX_DRIFT_MS, type Timestamp } from './hlc'
import { checkReplicaId, readHeader, writeHeader } from './replica-table'
import { Replicas } from './replicas'
import { CrdtDecodeError, type VersionVector } from './types'

/** Wall-clock milliseconds. Injected so that tests are deterministic. */
export type Clock = () => number
export interface LwwOptions {
  readonly clock?: Clock
}

/** One write, as a peer sees it: its replica by ID. `json` undefined is a removal. */
export interface PropWrite {
  readonly replica: string
  readonly counter: number
  readonly key: string
  readonly json: string | undefined
  readonly stamp: Timestamp
  readonly sig?: Uint8Array | undefined
}

/** Signs a write of this map's replica (the signature goes with the write everywhere). */
export type PropSigner = (write: PropWrite) => Uint8Array

export const PROP_SIG_BYTES = 64
/**
 * A batch from a peer holds a write stamped further ahead of local time than the drift window
 * (hlc.ts MAX_DRIFT_MS): refused for now, as a whole. A CrdtDecodeError, so whatever refuses malformed
 * batches refuses it too; callers that tell the two apart keep the peer (its clock may just be wrong).
 */
export class StampAheadError extends CrdtDecodeError {
  constructor(
    readonly stamp: Timestamp,
    readonly now: number,
  ) {
    super(
      `a write is stamped ${Math.round((stamp.wall - now) / 60_000)} min ahead of this device's clock ` +
        `(at most ${MAX_DRIFT_MS / 60_000} min accepted)`,
    )
    this.name = 'StampAheadError'
  }
}

/**
 * A map batch decoded once (`decodeMapBatch`), for the checks and the apply of a peer's batch to share:
 * each decoded it again.
 */
export interface DecodedMapBatch {
  readonly replicas: readonly string[]
  readonly writes: readonly Write[]
}

/** A peer's map batch, decoded and checked for form; throws CrdtDecodeError if it is malformed. */
export function decodeMapBatch(batch: Uint8Array): DecodedMapBatch {
  return decodeWrites(batch, KIND_LWW_BATCH, 'map batch')
}

/**
 * Refuses a map batch from a peer if any write in it is stamped more than the drift window ahead of
 * `now` (StampAheadError); a malformed batch throws CrdtDecodeError. Changes nothing either way.
 */
export function checkStampWindow(batch: Uint8Array | DecodedMapBatch, now: number): void {
  const { writes } = batch instanceof Uint8Array ? decodeMapBatch(batch) : batch
  let latest: Timestamp | undefined
  for (const w of writes) if (!latest || w.stamp.wall > latest.wall) latest = w.stamp
  if (latest && isTooFarAhead(latest, now)) throw new StampAheadError(latest, now)
}

/** A key whose visible value changed; `value` undefined means the key was removed. */
export interface LwwChange<V> {
  readonly key: string
  readonly value: V | undefined
}

const KIND_LWW_BATCH = 3
const KIND_LWW_SNAPSHOT = 4
const F_REMOVE = 1
const F_SAME_AGENT = 2
const F_IMPLICIT_COUNTER = 4
const F_SIGNED = 8
const MAX_KEY_LENGTH = 1024
const MAX_PENDING = 1_000_000

interface Write {
  readonly agent: number
  readonly counter: number
  readonly key: string
  /** JSON text of the value, or undefined for a removal. */
  readonly json: string | undefined
  readonly stamp: Timestamp
  readonly sig?: Uint8Array | undefined
}

export class LwwMap<V> {
  readonly replica: string
  /** Every replica heard of; this one is agent 0. `replicas` and `versions` are its arrays. */
  private readonly known: Replicas
  private readonly replicas: string[]
  private readonly versions: number[]
  /** Σ versions, kept as they advance; null until first counted (loads fill `versions` directly). */
  private applied: number | null = null
  private readonly clock: HybridClock
  /** The winning write per key (removals included: they must keep beating older sets). */
  private readonly winners = new Map<string, Write>()
  private readonly log: Write[] = []
  /**
   * Writes waiting for earlier ones of their replica, by `agent:counter` so a duplicate is parked once.
   * A write waits only for the one before it of its replica, so when `agent:c` applies, the one write
   * that can follow is `agent:c+1`: looked up, not found by rescanning every parked write.
   */
  private readonly pending = new Map<string, Write>()
  private signer: PropSigner | null = null

  constructor(replica: string, options: LwwOptions = {}) {
    checkReplicaId(replica)
    this.replica = replica
    this.clock = new HybridClock(options.clock ?? Date.now)
    this.known = new Replicas(replica)
    this.replicas = this.known.ids
    this.versions = this.known.seen
  }

  set(key: string, value: V): Uint8Array {
    checkKey(key)
    const json = JSON.stringify(value)
    if (json === undefined) throw new TypeError(`LwwMap.set: the value for "${key}" is not JSON-serialisable`)
    return this.write(key, json)
  }

  delete(key: string): Uint8Array {
    checkKey(key)
    return this.write(key, undefined)
  }

  /** Signs every later write of this replica (the node's device key). */
  signWith(signer: PropSigner): void {
    this.signer = signer
  }

  get(key: string): V | undefined {
    const json = this.winners.get(key)?.json
    return json === undefined ? undefined : (JSON.parse(json) as V)
  }

  /** The replica whose write holds `key` now (a removal included), if any. */
  writerOf(key: string): string | undefined {
    const w = this.winners.get(key)
    return w === undefined ? undefined : this.replicas[w.agent]
  }

  has(key: string): boolean {
    return this.winners.get(key)?.json !== undefined
  }

  entries(): [string, V][] {
    const out: [string, V][] = []
    for (const [key, w] of this.winners) if (w.json !== undefined) out.push([key, JSON.parse(w.json) as V])
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  version(): VersionVector {
    return this.known.version()
  }

  pendingCount(): number {
    return this.pending.size
  }

  /** Writes held: applied plus parked. Grows exactly when a batch taught this map something; O(1). */
  opCount(): number {
    if (this.applied === null) this.applied = this.versions.reduce((n, c) => n + c, 0)
    return this.applied + this.pending.size
  }

  /** `decoded`: the batch as `decodeMapBatch` gave it, if the caller has it. */
  applyRemote(batch: Uint8Array, decoded?: DecodedMapBatch): LwwChange<V>[] {
    const writes = this.localized(decoded ?? decodeMapBatch(batch))
    if (this.pending.size + writes.length > MAX_PENDING) {
      throw new RangeError('LwwMap: too many writes waiting for missing dependencies; batch refused')
    }
    const changed = new Set<string>()
    const before = new Map<string, string | undefined>()
    const note = (key: string): void => {
      if (!before.has(key)) before.set(key, this.winners.get(key)?.json)
      changed.add(key)
    }
    let progressed = false
    for (const w of writes) {
      if (this.tryApply(w, note)) {
        progressed = true
        this.wake(w.agent, note)
      } else this.pending.set(`${w.agent}:${w.counter}`, w)
    }
    // Our own writes apply without waking anything; as the rescan this replaced did, writes parked on
    // them (only a replica ID used twice makes such) go once a batch makes progress.
    if (progressed) this.wake(0, note)
    const changes: LwwChange<V>[] = []
    for (const key of changed) {
      const now = this.winners.get(key)?.json
      if (now !== before.get(key))
        changes.push({ key, value: now === undefined ? undefined : (JSON.parse(now) as V) })
    }
    return changes
  }

  changesSince(v: VersionVector): Uint8Array {
    const missing = this.log.filter((w) => w.counter > (v[this.replicas[w.agent]!] ?? 0))
    return this.encode(missing, KIND_LWW_BATCH)
  }

  save(): Uint8Array {
    const w = new ByteWriter(256)
    const log = this.encode(this.log, KIND_LWW_SNAPSHOT)
    const pending = this.encode([...this.pending.values()], KIND_LWW_BATCH)
    w.uint(log.length)
    w.bytes(log)
    w.bytes(pending)
    return w.finish()
  }

  static load<V>(bytes: Uint8Array, replica: string, options: LwwOptions = {}): LwwMap<V> {
    if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
    const r = new ByteReader(bytes)
    const log = r.bytes(r.uint())
    const pending = r.bytes(r.remaining)
    const map = new LwwMap<V>(replica, options)
    const writes = map.decode(log, KIND_LWW_SNAPSHOT, 'map snapshot')
    for (const w of writes) {
      if (!map.tryApply(w, ignore)) throw new CrdtDecodeError('map snapshot writes out of order')
    }
    map.applyRemote(pending)
    return map
  }

  // ---- internals ---------------------------------------------------------------------------------

  private write(key: string, json: string | undefined): Uint8Array {
    if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH) {
      throw new RangeError(`LwwMap: a key must be a string of at most ${MAX_KEY_LENGTH} characters`)
    }
    const unsigned: Write = { agent: 0, counter: this.versions[0]! + 1, key, json, stamp: this.clock.tick() }
    const w = this.signer
      ? { ...unsigned, sig: this.signer({ ...unsigned, replica: this.replica }) }
      : unsigned
    this.tryApply(w, ignore)
    return this.encode([w], KIND_LWW_BATCH)
  }

  /** Applies the parked writes of `agent` that now follow its applied ones, in counter order. */
  private wake(agent: number, note: (key: string) => void): void {
    while (this.pending.size > 0) {
      const key = `${agent}:${this.versions[agent]! + 1}`
      const next = this.pending.get(key)
      if (next === undefined) return
      this.pending.delete(key)
      this.tryApply(next, note)
    }
  }

  private tryApply(w: Write, note: (key: string) => void): boolean {
    const seen = this.versions[w.agent]!
    if (w.counter <= seen) return true
    if (w.counter > seen + 1) return false
    // A copy of this write may be parked (it came before its predecessor, this one after): drop it.
    if (this.pending.size > 0) this.pending.delete(`${w.agent}:${w.counter}`)
    this.versions[w.agent] = w.counter
    if (this.applied !== null) this.applied++
    this.log.push(w)
    this.clock.observe(w.stamp)
    const current = this.winners.get(w.key)
    if (
      !current ||
      compareStamps(w.stamp, this.replicas[w.agent]!, current.stamp, this.replicas[current.agent]!) > 0
    ) {
      note(w.key)
      this.winners.set(w.key, w)
    }
    return true
  }

  private encode(writes: readonly Write[], kind: number): Uint8Array {
    return encodeWrites(writes, kind, (agent) => this.replicas[agent]!)
  }

  /** Decodes writes and maps their agents onto this map's table. Throws CrdtDecodeError. */
  private decode(bytes: Uint8Array, kind: number, what: string): Write[] {
    return this.localized(decodeWrites(bytes, kind, what))
  }

  /** Decoded writes with their agents as this map numbers replicas. */
  private localized({ replicas, writes }: DecodedMapBatch): Write[] {
    const map = this.known.agentsOf(replicas)
    return writes.map((d) => ({ ...d, agent: map[d.agent]! }))
  }
}

/** The writes of a map batch from a peer, each with its replica's ID. Throws CrdtDecodeError. */
export function decodePropWrites(batch: Uint8Array | DecodedMapBatch): PropWrite[] {
  const { replicas, writes } = batch instanceof Uint8Array ? decodeMapBatch(batch) : batch
  return writes.map(({ agent, ...w }) => ({ ...w, replica: replicas[agent]! }))
}

/** A map batch of these writes (for passing on part of a peer's batch). */
export function encodePropWrites(writes: readonly PropWrite[]): Uint8Array {
  const table = new Map<string, number>()
  const replicas: string[] = []
  const indexed = writes.map(({ replica, ...w }) => {
    let agent = table.get(replica)
    if (agent === undefined) {
      agent = replicas.push(replica) - 1
      table.set(replica, agent)
    }
    return { ...w, agent }
  })
  return encodeWrites(indexed, KIND_LWW_BATCH, (agent) => replicas[agent]!)
}

function encodeWrites(
  writes: readonly Write[],
  kind: number,
  replicaOf: (agent: number) => string,
): Uint8Array {
  const table: string[] = []
  const local = new Map<number, number>()
  const body = new ByteWriter(16 + writes.length * 16)
  const expected: number[] = []
  let prev = 0
  body.uint(writes.length)
  for (const w of writes) {
    let agent = local.get(w.agent)
    if (agent === undefined) {
      agent = table.length
      local.set(w.agent, agent)
      table.push(replicaOf(w.agent))
    }
    let flags = w.json === undefined ? F_REMOVE : 0
    if (agent === prev) flags |= F_SAME_AGENT
    if (w.counter === expected[agent]) flags |= F_IMPLICIT_COUNTER
    if (w.sig) flags |= F_SIGNED
    body.byte(flags)
    if (!(flags & F_SAME_AGENT)) body.uint(agent)
    if (!(flags & F_IMPLICIT_COUNTER)) body.uint(w.counter)
    // Never fires: stamps come from decode or tick, both bounded. Kept so no batch is ever undecodable.
    if (!isValidStamp(w.stamp)) throw new RangeError('LwwMap: a stamp outside the decodable bounds')
    body.uint(w.stamp.wall)
    body.uint(w.stamp.logical)
    body.string(w.key)
    if (w.json !== undefined) body.string(w.json)
    if (w.sig) {
      if (w.sig.length !== PROP_SIG_BYTES) throw new RangeError('LwwMap: a signature is 64 bytes')
      body.bytes(w.sig)
    }
    prev = agent
    expected[agent] = w.counter + 1
  }
  const out = new ByteWriter(32 + body.length)
  writeHeader(out, kind, table)
  out.bytes(body.finish())
  return out.finish()
}

/** Writes as encoded: `agent` indexes the batch's own replica table. Throws CrdtDecodeError. */
function decodeWrites(
  bytes: Uint8Array,
  kind: number,
  what: string,
): { replicas: string[]; writes: Write[] } {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
  const r = new ByteReader(bytes)
  const { replicas } = readHeader(r, [kind], what)
  const count = r.count(4)
  const writes: Write[] = []
  const expected: number[] = []
  let prev = 0
  for (let i = 0; i < count; i++) {
    const flags = r.byte()
    if (flags & ~15) throw new CrdtDecodeError('reserved flag bits set')
    const agent = flags & F_SAME_AGENT ? prev : r.uint()
    if (agent >= replicas.length) throw new CrdtDecodeError(`replica index ${agent} outside the table`)
    let counter: number
    if (flags & F_IMPLICIT_COUNTER) {
      const next = expected[agent]
      if (next === undefined) throw new CrdtDecodeError('implicit counter with nothing before it')
      counter = next
    } else {
      counter = r.uint()
      if (counter < 1) throw new CrdtDecodeError('counter 0')
    }
    const stamp = { wall: r.uint(), logical: r.uint() }
    if (!isValidStamp(stamp))
      throw new CrdtDecodeError(`timestamp (${stamp.wall}, ${stamp.logical}) out of range`)
    const key = r.string()
    if (key.length > MAX_KEY_LENGTH) throw new CrdtDecodeError('key too long')
    let json: string | undefined
    if (!(flags & F_REMOVE)) {
      json = r.string()
      try {
        JSON.parse(json)
      } catch {
        throw new CrdtDecodeError(`value of "${key.slice(0, 40)}" is not valid JSON`)
      }
    }
    const sig = flags & F_SIGNED ? r.bytes(PROP_SIG_BYTES).slice() : undefined
    writes.push(sig ? { agent, counter, key, json, stamp, sig } : { agent, counter, key, json, stamp })
    prev = agent
    expected[agent] = counter + 1
  }
  if (!r.done()) throw new CrdtDecodeError('trailing bytes')
  return { replicas, writes }
}

function ignore(): void {
  // Loading and local writes have no caller waiting for the list of changes.
}

/** A key is stored as UTF-8, which cannot hold half a surrogate pair: refused, so it cannot change in transit. */
function checkKey(key: string): void {
  if (typeof key !== 'string') throw new TypeError('LwwMap: a key must be a string')
  if (hasLoneSurrogate(key)) throw new RangeError('LwwMap: a key must not hold an unpaired surrogate')
}
