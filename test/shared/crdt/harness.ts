/**
 * Seeded randomized convergence harness for `TextDoc`, shared by the vitest suites and by
 * `npm run fuzz` (scripts/fuzz.ts). It must not import vitest: it reports failures by throwing
 * `ConvergenceFailure`, whose message always ends with a one-line command that reruns the case.
 *
 * One case simulates 2–8 replicas that edit locally, receive a random, partial, reordered and
 * duplicated subset of each other's batches, pull `changesSince` from each other and restart from
 * `save()`/`load()` under a fresh replica ID. Every replica carries a plain-string model of its own
 * text: local edits splice the model directly and remote batches splice it with the returned
 * `TextChange[]`, so both the text and the change contract are checked after every step.
 */
import { TextDoc, type TextChange, type VersionVector } from '../../../src/shared/crdt'
import { seededRandom, type Random } from '../../../src/shared/random'

// ---------------------------------------------------------------------------------------------
// PRNG

/** The project's seeded generator (src/shared/random.ts) with the helpers the simulation uses. */
export class Prng {
  private readonly random: Random

  constructor(seed: number) {
    this.random = seededRandom(seed)
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    return this.random() * 0x1_0000_0000 // exact: the generator yields a 32-bit integer / 2^32
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.random()
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Prng.int needs a positive integer, got ${n}`)
    return Math.floor(this.next() * n)
  }

  /** A uniform integer in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick from an empty list')
    return items[this.int(items.length)]!
  }

  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = items[i]!
      items[i] = items[j]!
      items[j] = t
    }
    return items
  }

  /** A random byte array of the given length. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.nextU32() & 0xff
    return out
  }
}

// ---------------------------------------------------------------------------------------------
// Text helpers

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff

/** Whether UTF-16 position `i` of `s` is between two code points (never inside a surrogate pair). */
export function isBoundary(s: string, i: number): boolean {
  if (i <= 0 || i >= s.length) return true
  return !(isHighSurrogate(s.charCodeAt(i - 1)) && isLowSurrogate(s.charCodeAt(i)))
}

/** Pieces random text is made of: ASCII, CRLF and LF, BMP non-ASCII, and surrogate pairs. */
const TEXT_PIECES: readonly string[] = [
  ...'abcdefghijklmnopqrstuvwxyz'.split(''),
  ...'ABCXYZ0123456789'.split(''),
  ' ',
  ' ',
  ' ',
  '\n',
  '\r\n',
  '\r\n',
  '\t',
  'é',
  'ß',
  '中',
  '😀',
  '👍🏽',
  '𝔸',
  '🇫🇷',
]

/** Random text of 1..maxPieces pieces (letters, CRLF, emoji...). */
export function randomText(rng: Prng, maxPieces = 20): string {
  let out = ''
  const n = rng.range(1, maxPieces)
  for (let i = 0; i < n; i++) out += rng.pick(TEXT_PIECES)
  return out
}

/** A random insert position in [0, s.length] that does not split a surrogate pair. */
export function randomInsertIndex(rng: Prng, s: string): number {
  const i = rng.int(s.length + 1)
  return isBoundary(s, i) ? i : i - 1
}

/** A random non-empty delete range of 1..maxLength code units that does not split a pair. */
export function randomDeleteRange(rng: Prng, s: string, maxLength = 20): { index: number; length: number } {
  if (s.length === 0) throw new RangeError('nothing to delete')
  let index = rng.int(s.length)
  if (!isBoundary(s, index)) index--
  let end = Math.min(s.length, index + rng.range(1, maxLength))
  if (!isBoundary(s, end)) end++
  return { index, length: end - index }
}

/** Applies changes as the contract defines them (each relative to the text left by the previous one). */
export function applyChanges(text: string, changes: readonly TextChange[]): string {
  let out = text
  for (const c of changes) {
    const valid =
      Number.isInteger(c.index) &&
      Number.isInteger(c.deleted) &&
      typeof c.inserted === 'string' &&
      c.index >= 0 &&
      c.deleted >= 0 &&
      c.index + c.deleted <= out.length
    if (!valid) throw new Error(`TextChange ${JSON.stringify(c)} does not fit a text of length ${out.length}`)
    out = out.slice(0, c.index) + c.inserted + out.slice(c.index + c.deleted)
  }
  return out
}

/** The vector with zero entries dropped (absent means 0), keys sorted, for comparisons. */
export function normalizeVersion(v: VersionVector): VersionVector {
  const out: VersionVector = {}
  for (const key of Object.keys(v).sort()) {
    const n = v[key]!
    if (n !== 0) out[key] = n
  }
  return out
}

/** Whether two vectors are equal (absent = 0), optionally ignoring one replica. Cheap: no sorting. */
export function sameVersion(a: VersionVector, b: VersionVector, ignore?: string): boolean {
  let n = 0
  for (const key in a) {
    const count = a[key]!
    if (count === 0 || key === ignore) continue
    if (b[key] !== count) return false
    n++
  }
  for (const key in b) if (b[key] !== 0 && key !== ignore) n--
  return n === 0
}

/** A canonical string for a version vector; equal vectors give equal keys. */
export function versionKey(v: VersionVector): string {
  return JSON.stringify(normalizeVersion(v))
}

/** A short, printable description of text for failure messages. */
export function describeText(s: string, max = 80): string {
  const shown = s.length > max ? `${s.slice(0, max / 2)}…${s.slice(-max / 2)}` : s
  return `${JSON.stringify(shown)} (length ${s.length})`
}

// ---------------------------------------------------------------------------------------------
// Cases and failures

export interface FuzzCase {
  readonly seed: number
  /** 2..8 */
  readonly replicas: number
  /** Random actions before the final full exchange. */
  readonly steps: number
}

export const MIN_REPLICAS = 2
export const MAX_REPLICAS = 8

/** The replica and step counts a seed runs with when they are not given explicitly. */
export function caseForSeed(seed: number): FuzzCase {
  const rng = new Prng((seed ^ 0x5bd1e995) >>> 0)
  const replicas = rng.range(MIN_REPLICAS, MAX_REPLICAS)
  const steps = rng.chance(0.1) ? rng.range(300, 1000) : rng.range(10, 200)
  return { seed: seed >>> 0, replicas, steps }
}

/** The one-line command that reruns a case. */
export function reproducer(c: FuzzCase): string {
  return `npm run fuzz -- --seed ${c.seed} --replicas ${c.replicas} --steps ${c.steps}`
}

export class ConvergenceFailure extends Error {
  readonly fuzzCase: FuzzCase
  override readonly cause: unknown

  constructor(fuzzCase: FuzzCase, where: string, cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    super(`TextDoc convergence failed ${where}: ${detail}\n  reproduce: ${reproducer(fuzzCase)}`)
    this.name = 'ConvergenceFailure'
    this.fuzzCase = fuzzCase
    this.cause = cause
  }
}

export interface RunOptions {
  /** Receives one line per action, for `npm run fuzz -- --seed N --verbose`. */
  readonly trace?: (line: string) => void
}

export interface CaseStats {
  readonly edits: number
  readonly deliveries: number
  readonly pulls: number
  readonly restarts: number
  /** Most ops any replica held parked at once during the run. */
  readonly maxPending: number
  readonly finalLength: number
}

// ---------------------------------------------------------------------------------------------
// The simulation

interface Slot {
  readonly index: number
  doc: TextDoc
  /** What this replica's text must be, maintained independently of the CRDT. */
  model: string
  generation: number
  /** Indices into `Simulation.sent` that this slot has applied (or authored). */
  readonly delivered: Set<number>
}

interface SentBatch {
  readonly bytes: Uint8Array
  /** Replica ID that produced it. */
  readonly from: string
  readonly kind: 'edit' | 'pull'
}

/**
 * Replica ID prefixes. Most IDs are base64url like the ones the product generates (the codec packs
 * those), some are not (UTF-8 path); some are padded to the 64-character maximum.
 */
const ID_BASES: readonly string[] = ['a', 'b', 'peer', 'Z', 'node-', 'x', 'replica_', 'ü', 'Ω.', 'p q']

class Failure extends Error {
  override name = 'InvariantViolation'
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new Failure(message())
}

class Simulation {
  private readonly rng: Prng
  private readonly slots: Slot[] = []
  private readonly sent: SentBatch[] = []
  private readonly usedIds = new Set<string>()
  /** For every replica ID: its own counter after its last local op, i.e. the final expected vector. */
  private readonly authored: VersionVector = {}
  private readonly trace: ((line: string) => void) | undefined
  private stats = { edits: 0, deliveries: 0, pulls: 0, restarts: 0, maxPending: 0 }
  /** The current step, 1-based; 0 before and after the random steps. */
  private step = 0

  constructor(
    private readonly fuzzCase: FuzzCase,
    options: RunOptions,
  ) {
    if (
      !Number.isInteger(fuzzCase.replicas) ||
      fuzzCase.replicas < MIN_REPLICAS ||
      fuzzCase.replicas > MAX_REPLICAS
    ) {
      throw new RangeError(`replicas must be ${MIN_REPLICAS}..${MAX_REPLICAS}, got ${fuzzCase.replicas}`)
    }
    if (!Number.isInteger(fuzzCase.steps) || fuzzCase.steps < 0) {
      throw new RangeError(`steps must be a non-negative integer, got ${fuzzCase.steps}`)
    }
    this.rng = new Prng(fuzzCase.seed)
    this.trace = options.trace
  }

  run(): CaseStats {
    let where = 'while creating replicas'
    try {
      for (let i = 0; i < this.fuzzCase.replicas; i++) {
        this.slots.push({
          index: i,
          doc: new TextDoc(this.freshId(i, 0)),
          model: '',
          generation: 0,
          delivered: new Set(),
        })
      }
      for (let step = 1; step <= this.fuzzCase.steps; step++) {
        where = `at step ${step}/${this.fuzzCase.steps}`
        this.step = step
        this.randomAction()
        this.checkEqualVersionsMeanEqualText()
      }
      this.step = 0
      where = 'in the final exchange'
      this.finalExchange()
      where = 'in the final checks'
      this.finalChecks()
    } catch (error) {
      throw new ConvergenceFailure(this.fuzzCase, where, error)
    }
    return {
      ...this.stats,
      finalLength: this.slots[0]!.model.length,
    }
  }

  private log(line: string): void {
    this.trace?.(`${this.step === 0 ? 'final' : this.step}: ${line}`)
  }

  private freshId(slot: number, generation: number): string {
    for (;;) {
      const base = `${this.rng.pick(ID_BASES)}${slot}_${generation}`
      const id = this.rng.chance(0.1) ? base.padEnd(64, this.rng.pick(['Q', '~'])) : base
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id)
        return id
      }
    }
  }

  private randomAction(): void {
    const r = this.rng.next()
    if (r < 0.3) this.localEdit()
    else if (r < 0.45) this.typingBurst()
    else if (r < 0.78) this.deliverSome()
    else if (r < 0.88) this.pull(this.randomSlot(), this.randomSlot())
    else if (r < 0.94) this.syncPair()
    else if (r < 0.98) this.restart(this.randomSlot())
    else this.noopEdit()
  }

  private randomSlot(): Slot {
    return this.rng.pick(this.slots)
  }

  private record(slot: Slot, bytes: Uint8Array, kind: SentBatch['kind']): void {
    check(bytes instanceof Uint8Array, () => `expected a Uint8Array batch, got ${typeof bytes}`)
    this.sent.push({ bytes, from: slot.doc.replica, kind })
    // The producer already holds every op in its own batch.
    slot.delivered.add(this.sent.length - 1)
  }

  private expectModel(slot: Slot, what: string): void {
    const text = slot.doc.toString()
    check(
      text === slot.model,
      () =>
        `${what}: replica ${slot.doc.replica} has ${describeText(text)}, expected ${describeText(slot.model)}`,
    )
    check(
      slot.doc.length === slot.model.length,
      () => `${what}: length is ${slot.doc.length}, toString() has ${slot.model.length}`,
    )
  }

  /** One random insert or delete of 1–20 characters somewhere in a random replica's text. */
  private localEdit(): void {
    const slot = this.randomSlot()
    if (slot.model.length === 0 || this.rng.chance(0.6)) {
      this.insert(slot, randomInsertIndex(this.rng, slot.model), randomText(this.rng))
    } else {
      const { index, length } = randomDeleteRange(this.rng, slot.model)
      this.delete(slot, index, length)
    }
  }

  /** Keystrokes at a cursor, one batch each, as the editor sends them: typing, backspace, delete. */
  private typingBurst(): void {
    const slot = this.randomSlot()
    let cursor = randomInsertIndex(this.rng, slot.model)
    for (let n = this.rng.range(1, 12); n > 0; n--) {
      const r = this.rng.next()
      if (r < 0.7 || slot.model.length === 0) {
        const piece = randomText(this.rng, 1)
        this.insert(slot, cursor, piece)
        cursor += piece.length
      } else if (r < 0.9 && cursor > 0) {
        const width = isBoundary(slot.model, cursor - 1) ? 1 : 2
        cursor -= width
        this.delete(slot, cursor, width) // backspace
      } else if (cursor < slot.model.length) {
        this.delete(slot, cursor, isBoundary(slot.model, cursor + 1) ? 1 : 2) // forward delete
      }
    }
  }

  private insert(slot: Slot, index: number, text: string): void {
    const what = `localInsert(${index}, ${JSON.stringify(text)}) on ${slot.doc.replica}`
    this.log(what)
    this.localOp(slot, what, () => slot.doc.localInsert(index, text))
    slot.model = slot.model.slice(0, index) + text + slot.model.slice(index)
    this.expectModel(slot, what)
  }

  private delete(slot: Slot, index: number, length: number): void {
    const what = `localDelete(${index}, ${length}) on ${slot.doc.replica}`
    this.log(what)
    this.localOp(slot, what, () => slot.doc.localDelete(index, length))
    slot.model = slot.model.slice(0, index) + slot.model.slice(index + length)
    this.expectModel(slot, what)
  }

  /** Runs a local edit, checks what it did to the version vector and records its batch. */
  private localOp(slot: Slot, what: string, edit: () => Uint8Array): void {
    const doc = slot.doc
    const before = doc.version()
    const bytes = edit()
    this.stats.edits++
    const after = doc.version()
    const own = after[doc.replica] ?? 0
    check(
      own > (before[doc.replica] ?? 0),
      () => `${what}: own counter did not grow (${versionKey(before)} -> ${versionKey(after)})`,
    )
    check(
      sameVersion(before, after, doc.replica),
      () => `${what}: a local edit changed other replicas' counters`,
    )
    this.authored[doc.replica] = own
    this.record(slot, bytes, 'edit')
  }

  /** Inserting '' or deleting 0 characters: the batch must apply as a no-op everywhere. */
  private noopEdit(): void {
    const slot = this.randomSlot()
    const versionBefore = slot.doc.version()
    const bytes = this.rng.chance(0.5)
      ? slot.doc.localInsert(randomInsertIndex(this.rng, slot.model), '')
      : slot.doc.localDelete(randomInsertIndex(this.rng, slot.model), 0)
    this.log(`no-op edit on ${slot.doc.replica}`)
    this.expectModel(slot, 'no-op edit')
    check(sameVersion(slot.doc.version(), versionBefore), () => 'a no-op edit changed the version')
    this.record(slot, bytes, 'edit')
  }

  private apply(slot: Slot, index: number, bytes: Uint8Array, label: string): void {
    const doc = slot.doc
    const duplicate = slot.delivered.has(index)
    const versionBefore = doc.version()
    const pendingBefore = doc.pendingCount()
    const changes = doc.applyRemote(bytes)
    this.stats.deliveries++
    slot.model = applyChanges(slot.model, changes)
    this.expectModel(slot, `${label} to ${doc.replica}`)
    if (duplicate) {
      check(
        changes.length === 0,
        () => `${label}: re-applying a batch to ${doc.replica} returned ${JSON.stringify(changes)}`,
      )
      check(
        sameVersion(doc.version(), versionBefore),
        () =>
          `${label}: re-applying a batch to ${doc.replica} changed its version from ` +
          `${versionKey(versionBefore)} to ${versionKey(doc.version())}`,
      )
      check(
        doc.pendingCount() === pendingBefore,
        () =>
          `${label}: re-applying a batch to ${doc.replica} changed pendingCount() from ${pendingBefore} ` +
          `to ${doc.pendingCount()} (a parked duplicate must be ignored, not parked again)`,
      )
    }
    slot.delivered.add(index)
    this.stats.maxPending = Math.max(this.stats.maxPending, doc.pendingCount())
  }

  private deliverSome(): void {
    if (this.sent.length === 0) return
    const slot = this.randomSlot()
    const missing: number[] = []
    for (let i = 0; i < this.sent.length; i++) if (!slot.delivered.has(i)) missing.push(i)
    const n = this.rng.range(1, 4)
    for (let k = 0; k < n; k++) {
      const index =
        missing.length > 0 && this.rng.chance(0.75) ? this.rng.pick(missing) : this.rng.int(this.sent.length)
      const batch = this.sent[index]!
      const label = `batch #${index} (${batch.kind} from ${batch.from})`
      this.log(`deliver ${label} to ${slot.doc.replica}`)
      this.apply(slot, index, batch.bytes, `delivering ${label}`)
    }
  }

  /** `to` pulls `from.changesSince(to.version())`; afterwards it knows everything `from` had applied. */
  private pull(to: Slot, from: Slot): void {
    const target = from.doc.version()
    const bytes = from.doc.changesSince(to.doc.version())
    this.log(`${to.doc.replica} pulls changesSince from ${from.doc.replica}`)
    this.record(from, bytes, 'pull')
    this.stats.pulls++
    this.apply(to, this.sent.length - 1, bytes, `changesSince from ${from.doc.replica}`)
    const got = to.doc.version()
    for (const replica in target) {
      check(
        (got[replica] ?? 0) >= target[replica]!,
        () =>
          `after pulling changesSince from ${from.doc.replica}, ${to.doc.replica} has ${versionKey(got)}` +
          `, expected at least ${versionKey(target)}`,
      )
    }
  }

  /** Two replicas pull from each other until nothing changes; then they must be identical. */
  private syncPair(): void {
    const a = this.randomSlot()
    const b = this.randomSlot()
    if (a === b) return
    this.log(`sync ${a.doc.replica} <-> ${b.doc.replica}`)
    for (let round = 0; ; round++) {
      check(round < 100, () => 'pairwise sync did not settle in 100 rounds')
      const [beforeA, beforeB] = [a.doc.version(), b.doc.version()]
      this.pull(b, a)
      this.pull(a, b)
      if (sameVersion(a.doc.version(), beforeA) && sameVersion(b.doc.version(), beforeB)) break
    }
    check(
      sameVersion(a.doc.version(), b.doc.version()),
      () =>
        `after syncing, ${a.doc.replica} has ${versionKey(a.doc.version())} but ${b.doc.replica} has ` +
        versionKey(b.doc.version()),
    )
  }

  /** The product restarts a replica from its saved state under a fresh replica ID. */
  private restart(slot: Slot): void {
    const old = slot.doc
    const version = old.version()
    const pending = old.pendingCount()
    slot.generation++
    const id = this.freshId(slot.index, slot.generation)
    this.log(`restart ${old.replica} as ${id}`)
    const bytes = old.save()
    check(bytes instanceof Uint8Array, () => 'save() did not return a Uint8Array')
    slot.doc = TextDoc.load(bytes, id)
    this.stats.restarts++
    check(slot.doc.replica === id, () => `load(…, ${id}) gave replica ${slot.doc.replica}`)
    this.expectModel(slot, `restart of ${old.replica} as ${id}`)
    check(
      sameVersion(slot.doc.version(), version),
      () => `restart changed the version from ${versionKey(version)} to ${versionKey(slot.doc.version())}`,
    )
    check(
      slot.doc.pendingCount() === pending,
      () => `restart changed pendingCount from ${pending} to ${slot.doc.pendingCount()}`,
    )
  }

  /** Version vectors are prefix-closed, so replicas at equal versions have applied the same ops. */
  private checkEqualVersionsMeanEqualText(): void {
    const byFingerprint = new Map<number, { slot: Slot; version: VersionVector }[]>()
    for (const slot of this.slots) {
      const version = slot.doc.version()
      const fingerprint = this.fingerprint(version)
      const group = byFingerprint.get(fingerprint)
      const seen = group?.find((g) => sameVersion(g.version, version))
      if (seen !== undefined) {
        check(
          seen.slot.model === slot.model,
          () =>
            `${seen.slot.doc.replica} and ${slot.doc.replica} are both at ${versionKey(version)} but differ: ` +
            `${describeText(seen.slot.model)} vs ${describeText(slot.model)}`,
        )
      } else if (group) group.push({ slot, version })
      else byFingerprint.set(fingerprint, [{ slot, version }])
    }
  }

  private readonly idHashes = new Map<string, number>()

  /** An order-independent hash of a vector: equal vectors have equal fingerprints. */
  private fingerprint(v: VersionVector): number {
    let sum = 0
    for (const id in v) {
      const count = v[id]!
      if (count === 0) continue
      let h = this.idHashes.get(id)
      if (h === undefined) {
        h = 0x811c9dc5
        for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
        this.idHashes.set(id, h)
      }
      sum = (sum + Math.imul(h, count + 1)) | 0
    }
    return sum
  }

  private finalExchange(): void {
    for (const slot of this.rng.shuffle([...this.slots])) {
      if (this.rng.chance(0.5)) {
        const order: number[] = []
        for (let i = 0; i < this.sent.length; i++) {
          if (!slot.delivered.has(i)) order.push(i)
          else if (this.rng.chance(0.05)) order.push(i)
        }
        this.log(`final: deliver ${order.length} batches to ${slot.doc.replica}`)
        for (const i of this.rng.shuffle(order)) {
          this.apply(slot, i, this.sent[i]!.bytes, `final delivery of batch #${i}`)
        }
      } else {
        for (const other of this.rng.shuffle(this.slots.filter((s) => s !== slot))) this.pull(slot, other)
      }
    }
  }

  private finalChecks(): void {
    const expectedVersion = versionKey(this.authored)
    const first = this.slots[0]!
    for (const slot of this.slots) {
      this.expectModel(slot, 'final state')
      check(
        slot.model === first.model,
        () =>
          `diverged: ${first.doc.replica} has ${describeText(first.model)}, ` +
          `${slot.doc.replica} has ${describeText(slot.model)}`,
      )
      check(
        versionKey(slot.doc.version()) === expectedVersion,
        () =>
          `${slot.doc.replica} ends at ${versionKey(slot.doc.version())}, expected ${expectedVersion} ` +
          '(every replica ID with its last local counter)',
      )
      check(
        slot.doc.pendingCount() === 0,
        () => `${slot.doc.replica} still has ${slot.doc.pendingCount()} parked ops after the full exchange`,
      )
    }
    // Fully synced replicas have nothing to tell each other.
    const a = this.randomSlot()
    const b = this.randomSlot()
    const changes = b.doc.applyRemote(a.doc.changesSince(b.doc.version()))
    check(
      changes.length === 0,
      () => `changesSince between synced replicas changed ${JSON.stringify(changes)}`,
    )
    check(versionKey(b.doc.version()) === expectedVersion, () => 'changesSince between synced replicas')
    this.restart(a)
  }
}

/** Runs one seeded case; throws `ConvergenceFailure` (message ends with the reproducer) on failure. */
export function runConvergenceCase(fuzzCase: FuzzCase, options: RunOptions = {}): CaseStats {
  return new Simulation(fuzzCase, options).run()
}
