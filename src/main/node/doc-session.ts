/**
 * DocSession: one open document on this node — its durable replica (text, properties, members), its
 * keys, and the peers it syncs with. Local edits and remote batches both go through here: applied,
 * made durable, then passed on (to every other authenticated peer, and to listeners such as the UI
 * or the CLI). Nothing is broadcast before it is on disk.
 */
import { EventEmitter } from 'node:events'
import { decodeTextOps } from '../../shared/crdt/text-codec'
import {
  CrdtDecodeError,
  DamagedStateError,
  StampAheadError,
  checkStampWindow,
  decodeMapBatch,
  type DecodedMapBatch,
  type DecodedOps,
  type TextChange,
  type Utf8Bytes,
  type VersionVector,
} from '../../shared/crdt'
import { Channel, peerTag, type DocBatches, type DocVersions, type Role } from '../../shared/sync/messages'
import type { FileTree } from '../../shared/tree/file-tree'
import { checkStampWindow as checkTreeStamps, type TreeOp } from '../../shared/tree/tree-ops'
import { decodeTreePart } from '../../shared/tree/tree-part'
import { isEmptyBatch, type PeerSession, type SessionDoc } from '../../shared/sync/session'
import { PresenceTable, type SignedPresence } from '../../shared/sync/presence'
import { fromHex, toHex } from '../../shared/sync/hex'
import { truncateString } from '../../shared/crdt/bytes'
import type { Sign } from '../../shared/members/member-op'
import type { DurableDoc, JsonValue, Stages } from '../storage/durable-doc'
import { memberCrypto, randomKey } from './crypto'
import { DocProvenance } from './doc-provenance'
import { isAttested, type Attested } from './forks'
import { decodeSeals, type Seal } from './replica-seal'
import { AUTHOR_PREFIX } from './signed-props'
import { canEdit, parseMember, type MemberRecord, type MemberRole } from './members'
import { Retype } from './retype'
import { TextOrder } from './text-order'

/** What only this device knows about a document: its keys, and peers trusted while joining. */
export interface DocSecrets {
  epoch: number
  /** Key (hex) per epoch; older ones stay to check proofs from members that have not caught up. */
  keys: Record<string, string>
  /** Device keys trusted as owners until the member list has arrived (the device we joined through). */
  bootstrap: string[]
  /** Until then too: the role that device said we joined as. */
  joinedAs?: Role
  /** Hex nonce the document ID derives from, for a document this device created (its genesis op). */
  nonce?: string
  /**
   * Devices trusted to root the signed member list of a document made before there was one: its
   * owners in the old list when this device upgraded it, and the device it joined through.
   */
  legacyRoots?: string[]
  /**
   * Hex nonces of this device's replicas of the document at its last clean close (the node's own
   * first): the next start takes them up again instead of minting new ones, so version vectors do not
   * grow with every start. Safe because a clean close left every op of them on disk (and nothing is
   * sent before it is on disk); taken out as the document opens, so after a crash new ones are minted.
   */
  resume?: string[]
}

export interface DocSessionDeps {
  readonly self: string
  readonly selfName: string
  /** Signs member changes and seals with this device's key. */
  readonly sign: Sign
  /** The claim of the replica the document was opened with (`durable.replica`), minted for it. */
  readonly claim: Seal
  /** Nonces of this device's replicas from the last clean close, for windows to take up again. */
  readonly resumable?: readonly Uint8Array[]
  /** Deleted text kept, times the document's length (text-retention.ts; default: all of it). */
  readonly keepDeleted?: () => number
  /** Replicas one device may bind (default MAX_REPLICAS_PER_DEVICE). */
  readonly replicasPerDevice?: number
  /** How long a connected member may leave a seal request unanswered (default SEAL_WAIT_MS). */
  readonly sealWaitMs?: number
  /** Sessions with peers that may hold this document (filtered by authentication here). */
  readonly sessions: () => Iterable<PeerSession>
  readonly saveSecrets: (docId: string, secrets: DocSecrets) => Promise<void>
  /**
   * For a file document of a project (a shared folder's text file): the project, whose members, roles
   * and keys are this document's. A file document has none of its own (src/main/node/project-files.ts).
   */
  readonly project?: ProjectMembership
  readonly log: (message: string) => void
  readonly now?: () => number
}

export interface PeerPresence {
  readonly device: string
  readonly name: string
  readonly state: JsonValue
  readonly expires: number
}

export type ChangeOrigin = 'local' | 'remote'

/** What a file document takes from its project: who is a member, with which role, under which keys. */
export type ProjectMembership = Pick<
  DocSession,
  'docId' | 'epoch' | 'keyFor' | 'keysAfter' | 'member' | 'members' | 'roleOf' | 'isRemoved' | 'myRole'
>

export interface DocSessionEvents {
  text: [changes: TextChange[], origin: ChangeOrigin]
  /**
   * The op batch behind a text change: for other replicas of this document on this device (the UI's),
   * which need ops, not positions. 'local' batches come from this node or from `applyLocalBatch` (the
   * same object that was passed in, so its sender can skip its own echo), once durable; 'remote' ones
   * as soon as applied, since a peer sends only what is on its disk (a window shows a keystroke
   * without waiting for this node's fsync too).
   */
  batch: [batch: Uint8Array, origin: ChangeOrigin, catchUp: boolean]
  /**
   * The text was rebuilt on the version of an equivocating device's replica that peers agree on
   * (forks.ts): its ops no longer follow from the ones before, so the windows open it again. A 'text'
   * event with the whole change comes with it.
   */
  reset: []
  props: []
  /** A shared folder's file tree changed (src/shared/tree): the nodes whose place changed. */
  tree: [nodes: string[]]
  members: []
  /** The document key changed (a member was removed): LAN hints must be recomputed. */
  key: []
  awareness: []
  /**
   * `syncState()` changed: at most every SYNC_EVENT_MS while catching up (the first SYNC_EVENT_MS
   * after it started), and always at the end.
   */
  sync: []
  /** The next anti-entropy round has seal work to do here again (`retrySeals`, `sealRoundPending`). */
  'seal-round': []
  error: [error: Error]
}

/** Catching up with a peer, or not: `progress` in 0..1 (never 1: done is `syncing: false`). */
export interface SyncState {
  readonly syncing: boolean
  readonly progress: number | null
}

/**
 * Text characters (inserted or deleted: one counter each) that a replica at `ours` lacks from one at
 * `theirs`: Σ over replicas of max(0, theirs[r] − ours[r]).
 */
export function missingCount(theirs: VersionVector, ours: VersionVector): number {
  let n = 0
  for (const r in theirs) {
    const d = theirs[r]! - (ours[r] ?? 0)
    if (d > 0) n += d
  }
  return n
}

/** A peer we are catching up with: what it had when it asked (merged over its requests), and we had. */
interface CatchUp {
  readonly target: Record<string, number>
  readonly base: VersionVector
  /** This replica held text when the catch-up began: what arrives is news from time apart. */
  readonly away: boolean
}

export class NotAllowedError extends Error {
  readonly code = 'NOT_ALLOWED'
}

/** Tails of one replica taken from others' attestations that its author record lists (the latest). */
const MAX_RECORDED_TAILS = 16

/** Least time between two log lines about writes refused for their clock (anti-entropy repeats them). */
const STAMP_LOG_MS = 60_000
/** Least time between two 'sync' events while catching up (a chunked reply is many batches). */
export const SYNC_EVENT_MS = 100

export class DocSession extends EventEmitter<DocSessionEvents> implements SessionDoc {
  /** Who else is in the document, through the whole mesh (src/shared/sync/presence.ts). */
  private readonly presence: PresenceTable<PeerSession>
  /** Replicas whose claim and author record this session has written or is writing (its own, its UI's). */
  private readonly authorsRegistered = new Map<string, Promise<void>>()
  /** Whether the person was told that this device's saved state is damaged (DamagedStateError). */
  private toldDamaged = false
  /** This device's batches applied and not yet handed to the 'batch' listeners: see `unannounced`. */
  private readonly applied = new Set<Uint8Array>()
  /** The latest local batch's turn to be sent: each waits for the one applied before it (sendLocal). */
  private sendTurn: Promise<void> = Promise.resolve()
  /** Authenticated peers that hold text this replica lacks, since their last sync-request. */
  private readonly catchUps = new Map<PeerSession, CatchUp>()
  /**
   * Peers authenticated for this document whose first sync-request (what they hold) has not come yet:
   * until it does, this replica may lack anything, so it is not "up to date".
   */
  private readonly awaiting = new Set<PeerSession>()
  /** What each authenticated peer's last sync-request said it holds of the file tree. */
  private readonly peerTrees = new Map<PeerSession, VersionVector>()
  /** The progress last reported: it only grows until the sync is done. */
  private syncProgress = 0
  /** Whether the last 'sync' said syncing (a joined document starts so: it has nothing yet). */
  private syncing: boolean
  private lastSyncEvent = 0
  private syncTimer: ReturnType<typeof setTimeout> | undefined
  private lastStampLog = -Infinity
  /**
   * Whether the next anti-entropy round runs `retrySeals` here: set by whatever may give it something
   * to do (a peer's message, this device's edit or seal, a peer come or gone, members changed), cleared
   * by a round that found nothing (event 'seal-round' when set again).
   */
  private sealRound = true
  /** Who wrote each op and property write, checked before any of a peer's is applied (doc-provenance.ts). */
  private readonly authors: DocProvenance
  /** The text's order compared with peers', and rebuilt in canonical order where it differs. */
  private readonly order: TextOrder
  /** A window's edits whose counters were taken meanwhile (a made-up attested tail), typed again. */
  private readonly retype = new Retype({
    text: () => this.durable.text,
    insert: (index, text) => this.insert(index, text),
    delete: (index, length) => this.delete(index, length),
  })

  constructor(
    readonly durable: DurableDoc,
    private readonly secrets: DocSecrets,
    private readonly deps: DocSessionDeps,
  ) {
    super()
    this.authors = new DocProvenance({
      docId: durable.docId,
      durable,
      self: deps.self,
      sign: deps.sign,
      claim: deps.claim,
      resumable: deps.resumable ?? [],
      keepStreamStates: deps.project === undefined,
      ...(deps.keepDeleted ? { keepDeleted: deps.keepDeleted } : {}),
      replicasPerDevice: deps.replicasPerDevice,
      sealWaitMs: deps.sealWaitMs,
      log: deps.log,
      now: () => this.now(),
      peers: () => this.peers(),
      isMember: (device) => this.member(device) !== undefined,
      roleOf: (device) => this.roleOf(device),
      extendVersion: async (batch) => {
        const staged = this.durable.stageText(batch, true)
        // Seals that came ahead of ops waiting for these can be checked now, as after any batch.
        this.authors.settle()
        this.emit('batch', batch, 'remote', false)
        await staged.durable
        if (staged.value.length > 0) this.emit('text', staged.value, 'remote')
      },
      replaceVersion: async (replica, version) => {
        const done = this.rebuilt(
          await this.durable.replaceVersion(replica, version, (r) => this.authors.isOwn(r)),
        )
        if (done) this.authors.settle()
        return done
      },
      applyVouched: (batch, from, sentTo, catchUp) =>
        void this.applyAndForward(Channel.Text, batch, from, sentTo, catchUp, true),
      broadcast: (channel, batch, except, sentTo) => this.broadcast(channel, batch, except, sentTo),
      cutOff: (session) => {
        session.revoke(this.project ?? this.docId)
        this.forgetPeer(session)
      },
      membersChanged: () => this.emit('members'),
      tookTail: (replica, range) =>
        void this.recordTail(replica, range).catch((err: unknown) => this.emit('error', err as Error)),
      sealRoundDue: () => this.sealRoundDue(),
      error: (err) => this.emit('error', err),
    })
    this.presence = new PresenceTable<PeerSession>({
      docId: durable.docId,
      self: deps.self,
      peers: () => this.peers(),
      keyOf: (s) => s.remoteKey,
      send: (s, presence, sentTo) => s.sendAwareness(this.docId, presence, sentTo),
      sendGone: (s, origin, seq) => s.sendAwarenessGone(this.docId, origin, seq),
      isMember: (device) => this.roleOf(device) !== undefined,
      verify: (origin, data, signature) => memberCrypto.verify(fromHex(origin), data, signature),
      sign: deps.sign,
      now: () => this.now(),
      setTimer: (callback, ms) => {
        const timer = setTimeout(callback, ms)
        timer.unref?.()
        return () => clearTimeout(timer)
      },
      changed: () => this.emit('awareness'),
      log: deps.log,
    })
    this.order = new TextOrder({
      text: () => this.durable.text,
      rebuild: async () => this.rebuilt(await this.durable.rebuildCanonical((r) => this.authors.isOwn(r))),
      resync: () => {
        for (const session of this.peers()) session.resync(this.docId)
      },
      log: deps.log,
    })
    this.syncing = this.joining
  }

  /** The text was rebuilt (`done`: before and after; null: it was not): the windows open it again. */
  private rebuilt(done: { before: string; after: string } | null): boolean {
    if (!done) return false
    this.sealRoundDue()
    this.emit('reset')
    this.emit('text', [{ index: 0, deleted: done.before.length, inserted: done.after }], 'remote')
    this.updateSync()
    return true
  }

  get docId(): string {
    return this.durable.docId
  }

  /** The project this is a file document of, if it is one: the project's document ID. */
  get project(): string | undefined {
    return this.deps.project?.docId
  }

  get epoch(): number {
    return this.deps.project ? this.deps.project.epoch : this.secrets.epoch
  }

  keyFor(epoch: number): Uint8Array | undefined {
    if (this.deps.project) return this.deps.project.keyFor(epoch)
    const hex = this.secrets.keys[String(epoch)]
    return hex ? fromHex(hex) : undefined
  }

  get text(): string {
    return this.durable.text.toString()
  }

  get title(): string {
    const t = this.durable.props.get('title')
    return typeof t === 'string' ? t : ''
  }

  /**
   * A device's record in the signed member list; until that list has a root here (a document from
   * before signed members, not yet upgraded by its owner), in the old one.
   */
  member(device: string): MemberRecord | undefined {
    if (this.deps.project) return this.deps.project.member(device)
    if (this.signedMembers) return this.durable.members.get(device)
    return parseMember(this.durable.legacyMembers.get(device))
  }

  members(): { device: string; record: MemberRecord }[] {
    if (this.deps.project) return this.deps.project.members()
    if (this.signedMembers) {
      return this.durable.members.entries().map(([device, record]) => ({ device, record }))
    }
    const out: { device: string; record: MemberRecord }[] = []
    for (const [device, value] of this.durable.legacyMembers.entries()) {
      const record = parseMember(value)
      if (record) out.push({ device, record })
    }
    return out
  }

  /** Whether the signed list is the authority here: it has a root, or there is no old list to read. */
  private get signedMembers(): boolean {
    return this.durable.members.root() !== undefined || this.durable.legacyMembers.opCount() === 0
  }

  roleOf(device: string): Role | undefined {
    if (this.deps.project) return this.deps.project.roleOf(device)
    const role = this.member(device)?.role
    if (role === 'removed') return undefined
    if (role) return role
    return this.secrets.bootstrap.includes(device) ? 'owner' : undefined
  }

  isRemoved(device: string): boolean {
    if (this.deps.project) return this.deps.project.isRemoved(device)
    return this.member(device)?.role === 'removed'
  }

  get myRole(): MemberRole | undefined {
    if (this.deps.project) return this.deps.project.myRole
    // Before the member list arrives: the role we were let in as (least privilege if not recorded).
    const joining = this.secrets.bootstrap.length > 0 ? (this.secrets.joinedAs ?? 'viewer') : undefined
    return this.member(this.deps.self)?.role ?? joining
  }

  versions(): DocVersions {
    return [
      this.durable.text.version(),
      this.durable.props.version(),
      this.durable.members.version(),
      this.durable.tree.version(),
    ]
  }

  textOrder(): Uint8Array {
    return this.order.digest()
  }

  async changesSince(v: DocVersions): Promise<DocBatches> {
    return [
      await this.durable.textChangesSince(v[0]),
      await this.durable.propChangesSince(v[1]),
      await this.durable.memberChangesSince(v[2]),
      await this.durable.treeChangesSince(v[3]),
    ]
  }

  /** Every authenticated peer session for this document. */
  peers(): PeerSession[] {
    return [...this.deps.sessions()].filter((s) => s.isAuthenticated(this.docId))
  }

  // ---- sync progress -------------------------------------------------------------------------------

  /** A peer proved membership of this document: until its sync-request says what it holds, we wait. */
  peerAuthenticated(session: PeerSession): void {
    this.sealRoundDue()
    this.awaiting.add(session)
    this.updateSync()
  }

  /**
   * A peer's sync-request tells what it holds, so what we lack from it (its reply follows). Viewers'
   * batches are refused, so nothing is expected from them.
   */
  peerVersions(from: PeerSession, v: DocVersions, order?: Uint8Array): void {
    this.sealRoundDue()
    if (order) this.order.compare(v[0], order, `peer ${from.remoteKey.slice(0, 8)}`)
    this.peerTrees.set(from, v[3])
    const awaited = this.awaiting.delete(from)
    const known = this.catchUps.get(from)
    const ours = this.durable.text.version()
    if (from.roleOf(this.docId) === undefined || from.roleOf(this.docId) === 'viewer') {
      // Nothing to expect from it.
    } else if (known) {
      // An anti-entropy probe mid-sync: keep the baseline, so progress stays monotonic.
      for (const r in v[0]) known.target[r] = Math.max(known.target[r] ?? 0, v[0][r]!)
    } else if (missingCount(v[0], ours) > 0) {
      this.catchUps.set(from, { target: { ...v[0] }, base: { ...ours }, away: Object.keys(ours).length > 0 })
    } else if (!awaited) {
      return // the common case: an anti-entropy probe from a peer we are even with
    }
    this.updateSync()
  }

  /**
   * Stops expecting anything from a peer (its connection closed, or it lost access), and drops the
   * presence it brought: the people bar shows who is here now, not until the presence expires.
   */
  forgetPeer(session: PeerSession): void {
    this.sealRoundDue()
    this.peerTrees.delete(session)
    this.presence.peerLeft(session)
    this.catchUps.delete(session)
    this.awaiting.delete(session)
    this.updateSync()
  }

  /**
   * Whether the file tree is known to be complete here: a peer has said what it holds of it, and no
   * peer holds tree ops this replica lacks. (Sync progress counts the text only; a project's joiner
   * waits for this before it reads its folder, so that its files meet the project's tree.)
   */
  treeCaughtUp(): boolean {
    if (this.peerTrees.size === 0) return false
    const ours = this.durable.tree.version()
    for (const [session, theirs] of this.peerTrees) {
      if (session.isAuthenticated(this.docId) && missingCount(theirs, ours) > 0) return false
    }
    return true
  }

  /**
   * Joined, and the member list (which names this device) has not arrived: the document has not had
   * its first sync, whatever it holds.
   */
  private get joining(): boolean {
    return this.secrets.bootstrap.length > 0
  }

  /**
   * Syncing while catching up with a peer (progress known), while a peer that just authenticated has
   * not said what it holds, and while a joined document waits for its first sync (progress unknown).
   */
  syncState(): SyncState {
    if (this.catchUps.size > 0) return { syncing: true, progress: this.syncProgress }
    return this.awaiting.size > 0 || this.joining
      ? { syncing: true, progress: null }
      : { syncing: false, progress: null }
  }

  /** Characters received and expected from the peers being caught up with (for tests and status). */
  syncCounts(): { received: number; expected: number } {
    const ours = this.durable.text.version()
    let received = 0
    let expected = 0
    for (const c of this.catchUps.values()) {
      const total = missingCount(c.target, c.base)
      expected += total
      received += total - missingCount(c.target, ours)
    }
    return { received, expected }
  }

  /** Recounts after text arrived or peers changed; drops peers fully caught up with; reports. */
  private updateSync(): void {
    // The common case, every keystroke: nothing to wait for, and nothing to report.
    if (!this.syncing && this.catchUps.size === 0 && this.awaiting.size === 0) return
    const ours = this.durable.text.version()
    const gone = (session: PeerSession): boolean => !session.ready || !session.isAuthenticated(this.docId)
    for (const [session, c] of this.catchUps) {
      if (gone(session) || missingCount(c.target, ours) === 0) this.catchUps.delete(session)
    }
    for (const session of this.awaiting) if (gone(session)) this.awaiting.delete(session)
    if (this.catchUps.size === 0 && (this.awaiting.size > 0 || this.joining)) {
      // Nothing counted to receive yet: syncing, progress unknown.
      if (!this.syncing) this.lastSyncEvent = Date.now()
      this.syncing = true
      this.emitSync(false)
      return
    }
    if (this.catchUps.size === 0) {
      this.syncing = false
      this.syncProgress = 0
      // After the batch that completed it has gone to the windows (emitted right after this): a window
      // never hears "up to date" before it has the text.
      queueMicrotask(() => {
        if (!this.syncing) this.emitSync(true) // (unless it started again meanwhile)
      })
      return
    }
    // A catch-up is first reported after SYNC_EVENT_MS: an anti-entropy request that overtook a live
    // update in flight (a keystroke) would otherwise flash "Syncing" every round while anyone types.
    if (!this.syncing) this.lastSyncEvent = Date.now()
    this.syncing = true
    const { received, expected } = this.syncCounts()
    this.syncProgress = Math.max(this.syncProgress, received / expected)
    this.emitSync(false)
  }

  /** Emits 'sync' now if `now` (the end) or the last one is old enough, else after the interval. */
  private emitSync(now: boolean): void {
    const wait = this.lastSyncEvent + SYNC_EVENT_MS - Date.now()
    if (now || wait <= 0) {
      clearTimeout(this.syncTimer)
      this.syncTimer = undefined
      this.lastSyncEvent = Date.now()
      this.emit('sync')
    } else if (!this.syncTimer) {
      this.syncTimer = setTimeout(() => {
        this.syncTimer = undefined
        this.emitSync(false)
      }, wait)
      this.syncTimer.unref?.()
    }
  }

  // ---- remote --------------------------------------------------------------------------------------

  /** `catchUp`: it came in a sync reply (after time apart), not as a live update. */
  applyRemote(
    channel: Channel,
    batch: Uint8Array,
    from: PeerSession,
    sentTo: readonly string[] = [],
    catchUp = false,
  ): void {
    void this.applyAndForward(channel, batch, from, sentTo, catchUp)
  }

  private async applyAndForward(
    channel: Channel,
    batch: Uint8Array,
    from: PeerSession | null,
    sentTo: readonly string[] = [],
    catchUp = false,
    vouched = false,
  ): Promise<void> {
    this.sealRoundDue()
    if (from && channel === Channel.Seals) return this.authors.receiveSeals(batch, from, sentTo)
    if (from && channel === Channel.Versions) return this.authors.receiveVersions(batch, from)
    if (from && this.deps.project && (channel === Channel.Members || channel === Channel.Tree)) {
      // Its members and its tree are the project's: such ops in a file are made up, and never kept.
      this.deps.log(
        `refused ${channel === Channel.Tree ? 'tree' : 'member'} ops in file ${this.docId.slice(0, 8)} ` +
          `from ${from.remoteKey.slice(0, 8)}: a file of a project has none of its own`,
      )
      return
    }
    let isNew: boolean
    try {
      // A peer's property write stamped too far ahead of our clock is refused before the replica sees
      // it: not adopted by the clock, not stored, not passed on (hlc.ts, MAX_DRIFT_MS). Member changes
      // are ordered by their hash links, not by time.
      // A peer's property writes and tree ops are decoded once, here, for the checks and the apply.
      let props: DecodedMapBatch | undefined =
        from && channel === Channel.Props ? decodeMapBatch(batch) : undefined
      let tree = from && channel === Channel.Tree ? decodeTreePart(batch) : undefined
      let textOps: DecodedOps | undefined
      if (props) checkStampWindow(props, this.now())
      if (tree) checkTreeStamps(tree.flat(), this.now())
      // Who wrote each op or write, checked before anything is applied (provenance.ts, signed-props.ts,
      // signed-tree.ts).
      if (
        from &&
        (channel === Channel.Text ? !vouched : channel === Channel.Props || channel === Channel.Tree)
      ) {
        let admitted: Uint8Array | null
        if (channel === Channel.Text) {
          const taken = this.authors.admitText(batch, from, sentTo, catchUp)
          admitted = taken && taken.batch
          textOps = taken?.decoded
        } else
          admitted =
            channel === Channel.Props
              ? this.authors.admitProps(batch, from, props)
              : this.authors.admitTree(batch, from, tree)
        if (admitted === null) return
        // Some of it held back (its authors not known yet): the rest is a batch of its own.
        if (admitted !== batch) props = tree = undefined
        batch = admitted
      }
      // A replica applies a batch synchronously and then makes it durable; only a batch that taught
      // this replica something is passed on, or peers in a cycle would echo duplicates forever.
      const before = this.progress(channel)
      if (channel === Channel.Text) {
        const away = catchUp && this.isAway(from, before)
        const refused = this.durable.text.refusedCount()
        // A live update waits for the next write and fsync (the durability contract); a sync reply's
        // batch goes out at once, with the seals and property writes that came ahead of it in one
        // write and one fsync: a join's 2,000 files otherwise each waited SYNC_DEFER_MS to be durable,
        // and so to be written to a shared folder.
        const staged = this.durable.stageText(batch, !catchUp, textOps)
        isNew = this.progress(channel) !== before
        if (this.durable.text.refusedCount() !== refused) this.logRefused()
        // A seal that came ahead of these ops can be checked now (its senders pass it on, not us).
        this.authors.settle()
        // Progress first, so that a status read on 'batch' already counts this batch. The windows and
        // peers get it before our write: it is in its author's log already, and its author seals it, so
        // if we lose it in a crash we get it back (src/main/storage/README.md, the durability contract).
        if (isNew) this.updateSync()
        if (isNew) this.emit('batch', batch, 'remote', away)
        if (isNew) this.broadcast(channel, batch, from, sentTo)
        await staged.durable
        if (staged.value.length > 0) this.emit('text', staged.value, 'remote')
        return
      } else if (channel === Channel.Props) {
        const applying = this.durable.applyProps(batch, props)
        isNew = this.progress(channel) !== before
        if ((await applying).length > 0) this.emit('props')
      } else if (channel === Channel.Tree) {
        const applying = this.durable.applyTree(batch, tree)
        isNew = this.progress(channel) !== before
        const changes = await applying
        if (changes.length > 0)
          this.emit(
            'tree',
            changes.map((c) => c.id),
          )
      } else {
        const applying = this.durable.applyMembers(batch)
        isNew = this.progress(channel) !== before
        const changed = (await applying).length > 0
        // Passed on before sessions are re-checked: a device this removes still hears of its removal.
        if (isNew) this.broadcast(channel, batch, from, sentTo)
        if (changed) this.membersChanged()
        return
      }
    } catch (err) {
      if (err instanceof StampAheadError && from) {
        // Likely a wrong clock, not an attack: the peer keeps its access, and anti-entropy sends the
        // batch again, accepted once our clock has caught up. (Outside the static bounds, it is malformed.)
        const now = this.now()
        if (now - this.lastStampLog >= STAMP_LOG_MS) {
          this.lastStampLog = now
          this.deps.log(
            `refused writes to ${this.docId.slice(0, 8)} from ${from.remoteKey.slice(0, 8)}: ${err.message}`,
          )
        }
        return
      }
      if (err instanceof DamagedStateError) {
        // Our copy is at fault, not the peer's batch: the peer stays, and the person is told, once.
        if (!this.toldDamaged) this.emit('error', err)
        this.toldDamaged = true
        return
      }
      if (err instanceof CrdtDecodeError && from) {
        this.deps.log(
          `malformed batch for ${this.docId.slice(0, 8)} from ${from.remoteKey.slice(0, 8)}: ${err.message}`,
        )
        from.revoke(this.project ?? this.docId)
        this.forgetPeer(from)
        return
      }
      this.emit('error', err as Error)
      return
    }
    if (isNew) this.broadcast(channel, batch, from, sentTo)
  }

  /** Connected members that leave seal requests for their edits unanswered (doc-provenance.ts). */
  withholders(): string[] {
    return this.authors.withholders()
  }

  /** Devices caught equivocating: on the member list (member-log.ts), or on their text (provenance.ts). */
  equivocators(): string[] {
    return [...new Set([...this.durable.members.equivocators(), ...this.authors.equivocators()])]
  }

  // ---- provenance: who wrote each op (doc-provenance.ts) ---------------------------------------------

  /** Seals for what a peer at `v` lacks, and for the writers of `props` and `tree`, sent ahead of them. */
  sealsFor(v: DocVersions, to: PeerSession, props: Uint8Array, tree: Uint8Array): Uint8Array[] {
    return this.authors.sealsFor(v, to, props, tree)
  }

  onSealRequest(from: PeerSession, replica: string, counter: number): void {
    this.sealRoundDue()
    this.authors.onSealRequest(from, replica, counter)
  }

  /**
   * Anti-entropy for held ops: asks again for the seals they wait for. Returns whether the next round
   * has to run it too; if not, the document emits 'seal-round' once something happens that may.
   */
  retrySeals(): boolean {
    this.sealRound = false
    if (this.authors.retrySeals()) this.sealRound = true
    return this.sealRound
  }

  /** Whether the next anti-entropy round runs `retrySeals` here (see `sealRound`). */
  get sealRoundPending(): boolean {
    return this.sealRound
  }

  private sealRoundDue(): void {
    if (this.sealRound) return
    this.sealRound = true
    this.emit('seal-round')
  }

  /** Seals and sends now what waits for a pause in typing (the node is closing). */
  sealPending(): void {
    this.authors.sealPending()
  }

  /**
   * Whether nothing is under way here that closing the document would cut short or lose: no edit
   * waiting for its seal, no seal work for the next round (ops held for a seal, seals unanswered,
   * versions offered: `retrySeals`), and nobody present in it. A file document of a project that stays
   * idle is closed (Workspace), and opened again when it is needed.
   */
  get idle(): boolean {
    return !this.sealRound && !this.authors.sealsWaiting() && this.presence.list().length === 0
  }

  /** Stops the document's timers: it is closed (its DurableDoc closes on its own). */
  stop(): void {
    this.presence.close()
    clearTimeout(this.syncTimer)
    this.syncTimer = undefined
  }

  /** A replica of this device for the UI's editor (doc-provenance.ts). */
  mintReplica(): string {
    return this.authors.mintReplica()
  }

  /** A window that held `replica` (from mintReplica) is gone: the next may take it up (doc-provenance.ts). */
  releaseReplica(replica: string): void {
    this.authors.releaseReplica(replica)
  }

  /**
   * A replica for merging a change on disk: the last merge's if `fits` it; bound durably before it
   * resolves if `bindNow`, else with its first ops (doc-provenance.ts).
   */
  takeDiskReplica(fits: (replica: string) => boolean, bindNow: boolean): Promise<string> {
    return this.authors.takeDiskReplica(fits, bindNow)
  }

  /** A merge applied its ops of `replica` (from takeDiskReplica): the next may take it up. */
  diskMerged(replica: string): void {
    this.authors.diskMerged(replica)
  }

  /** This run's replicas for the next start to take up again; once closed cleanly. */
  resumable(): Uint8Array[] {
    return this.authors.resumable()
  }

  /** The replicas to take up again when the document opens later in this run, once closed cleanly. */
  reusable(): Uint8Array[] {
    return this.authors.reusable()
  }

  /** Whether a sync reply's batch is news from time apart: not in a first sync (a device that just joined). */
  private isAway(from: PeerSession | null, heldBefore: number): boolean {
    const catchUp = from ? this.catchUps.get(from) : undefined
    return catchUp ? catchUp.away : heldBefore > 0
  }

  /** How much a replica holds: ops applied plus ops parked. It grows exactly when a batch was news. */
  private progress(channel: Channel): number {
    const crdt =
      channel === Channel.Text
        ? this.durable.text
        : channel === Channel.Props
          ? this.durable.props
          : channel === Channel.Tree
            ? this.durable.tree
            : this.durable.members
    return crdt.opCount()
  }

  /**
   * Sends a batch to every authenticated peer except its sender and the devices it was already sent
   * to, telling each whom it now went to: so relays reach peers the sender could not, and a full mesh
   * does not pass every keystroke on again. (If a frame to a listed device was lost, anti-entropy
   * repairs it.)
   */
  private broadcast(
    channel: Channel,
    batch: Uint8Array,
    except: PeerSession | null,
    sentTo: readonly string[] = [],
  ): void {
    if (isEmptyBatch(batch)) return
    // One pass over the sessions, not over peers() (which copies and filters them first): in a full
    // mesh each of the 15 receivers of a keystroke finds every peer listed, for every keystroke.
    const skip = new Set(sentTo)
    const targets: PeerSession[] = []
    for (const s of this.deps.sessions()) {
      if (s !== except && s.isAuthenticated(this.docId) && !skip.has(peerTag(s.remoteKey))) targets.push(s)
    }
    if (targets.length === 0) return
    const reached = new Set(sentTo)
    reached.add(peerTag(this.deps.self))
    if (except) reached.add(peerTag(except.remoteKey))
    for (const s of targets) reached.add(peerTag(s.remoteKey))
    const list = [...reached]
    const seals = this.authors.sealsAhead(channel, batch, except)
    const passed = channel === Channel.Seals ? decodeSeals(batch) : []
    for (const s of targets) {
      if (seals.length > 0) this.authors.sendSeals(s, seals, list)
      if (passed.length > 0) this.authors.notSentYet(s, passed) // noted, so text that follows does not repeat them
      s.sendUpdate(this.docId, channel, batch, list)
    }
  }

  /** A presence from a peer, about it or relayed (checked, deduplicated and passed on by the table). */
  applyAwareness(from: PeerSession, presence: SignedPresence, sentTo: readonly string[]): void {
    this.presence.receive(from, presence, sentTo)
  }

  awarenessGone(from: PeerSession, origin: string, seq: number): void {
    this.presence.gone(from, origin, seq)
  }

  /** A peer authenticated for this document: it hears who is here. */
  peerReady(session: PeerSession): void {
    this.sealRoundDue()
    this.presence.peerReady(session)
    this.authors.offerVersions(session)
  }

  /** Presence of the other members in this document, wherever they are in the mesh; expired ones dropped. */
  presences(): PeerPresence[] {
    return this.presence.list().map(({ device, state, expires }) => ({
      device,
      name: this.member(device)?.name ?? '',
      state: state as JsonValue,
      expires,
    }))
  }

  /** Publishes this device's presence (cursor, selection, name, colour), signed, to the whole mesh. */
  setAwareness(state: JsonValue): void {
    this.presence.publish(JSON.stringify(state))
  }

  // ---- local edits ---------------------------------------------------------------------------------

  /** Who wrote with a replica: every replica that edits records its device and name in the properties. */
  authorOf(replica: string): { device: string; name: string } | undefined {
    const { device: recorded, name } = this.recordOf(replica)
    // The device a replica is bound to is proven (provenance.ts); a record is only a name for it.
    const device = this.authors.deviceOf(replica)
    if (device !== undefined) {
      const named = recorded === device && name !== undefined
      return { device, name: named ? name : (this.member(device)?.name ?? `device ${device.slice(0, 8)}`) }
    }
    // A replica from before devices were bound to replicas: its record is all there is.
    return recorded !== undefined && name !== undefined ? { device: recorded, name } : undefined
  }

  /**
   * The counters of a replica whose ops stand in on another member's word (an attested version, for a
   * device that withheld its seals), and that member's key: history shows them as attested by it.
   */
  attestedOf(replica: string): Attested[] {
    const out = this.recordOf(replica).attested
    const here = this.authors.attestedOf(replica)
    if (here && !out.some((r) => r.from === here.from && r.to === here.to && r.by === here.by)) out.push(here)
    return out.sort((a, b) => a.from - b.from || a.to - b.to)
  }

  /**
   * This device took counters of its own replica, past its last edit of it, from another member's
   * attestation (a made-up tail: its next edits go past them). Its author record says so, signed, so
   * that every peer shows them as that member's, whatever this device seals later.
   */
  private async recordTail(replica: string, range: Attested): Promise<void> {
    const key = `${AUTHOR_PREFIX}${replica}`
    const known = this.recordOf(replica)
    const record = {
      device: this.deps.self,
      name: known.name ?? this.deps.selfName,
      attested: [...known.attested, range].slice(-MAX_RECORDED_TAILS),
    }
    this.broadcast(Channel.Props, await this.durable.setProp(key, record as unknown as JsonValue), null)
  }

  /**
   * A replica's author record, as written by a device (which one is checked on arrival:
   * signed-props.ts): the device, its name, and tails it took (`recordTail`). Fields of the wrong form
   * are left out.
   */
  private recordOf(replica: string): { device?: string; name?: string; attested: Attested[] } {
    const v = this.durable.props.get(`${AUTHOR_PREFIX}${replica}`)
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { attested: [] }
    const record = v as { device?: unknown; name?: unknown; attested?: unknown }
    return {
      ...(typeof record.device === 'string' ? { device: record.device } : {}),
      ...(typeof record.name === 'string' ? { name: record.name } : {}),
      attested: Array.isArray(record.attested)
        ? record.attested.filter(isAttested).slice(0, MAX_RECORDED_TAILS)
        : [],
    }
  }

  /** Attested versions from peers waiting out their time before they are taken (forks.ts). */
  attestationsWaiting(): number {
    return this.authors.attestationsWaiting()
  }

  /** The device whose signed write holds a property now (signed-props.ts), if known. */
  propWriter(key: string): string | undefined {
    const replica = this.durable.props.writerOf(key)
    return replica === undefined ? undefined : this.authors.deviceOf(replica)
  }

  /**
   * A replica's claim and author record written now, ahead of its first edit, for a window that opens
   * the document to edit it (app-service.ts; `replica`: the window's, by default this node's). That
   * edit then goes out alone: every peer checked the claim and the record when they came, not while
   * the first keystroke waits (`npm run bench -- mesh`: 16 peers whose first keystrokes came within
   * 200 ms of each other took 33 ms at the median to reach the others, 6-10 ms once prepared; later
   * keystrokes 3 ms). Nothing is written for a role that cannot edit; a replica that never edits keeps
   * its record (a window's is taken up again by the next window, see DocProvenance.releaseReplica).
   */
  async prepareToEdit(replica = this.durable.replica): Promise<void> {
    if (!canEdit(this.myRole)) return
    await this.registerAuthor(replica)
  }

  /**
   * Before this replica's first edit: its claim (so that after a restart this device can still seal
   * it) and, if `named`, a record that tells everyone whose it is (history shows authors by name; the
   * name this device had then). Resolves once both are written; every caller waits for the same
   * writing, and one that failed (a full disk) is tried again by the next edit. With a first edit,
   * they go into the log ahead of it, in its write and its fsync, so they are sent once written, as
   * the edit is, and the edit's acknowledgement covers them (the durability contract,
   * src/main/storage/README.md): a window's first keystroke waited for an fsync of its own.
   */
  private registerAuthor(replica = this.durable.replica, named = true): Promise<void> {
    let registering = this.authorsRegistered.get(replica)
    if (!registering) {
      registering = this.writeAuthor(replica, named)
      this.authorsRegistered.set(replica, registering)
      registering.catch(() => this.authorsRegistered.delete(replica))
    }
    return registering
  }

  private async writeAuthor(replica: string, named: boolean): Promise<void> {
    const claim = this.authors.stageClaim(replica)
    const key = `${AUTHOR_PREFIX}${replica}`
    if (named && this.durable.props.get(key) === undefined) {
      const record = this.durable.stageProp(key, { device: this.deps.self, name: this.deps.selfName })
      await record.written
      this.broadcast(Channel.Props, record.value, null)
    }
    await claim.written
  }

  /** `utf8`: the text's UTF-8 as the caller holds it, if it does (DurableDoc.stageInsert). */
  async insert(index: number, text: string, utf8?: Utf8Bytes): Promise<void> {
    this.requireEdit()
    // The edit is applied now, at the index the caller saw (nothing can land in between); the claim and
    // author record of a first edit are written ahead of it, and sent before it.
    const registered = this.registerAuthor()
    const staged = this.durable.stageInsert(index, text, utf8)
    await this.sendLocal(
      staged.value,
      { ...staged, registered },
      [{ index, deleted: 0, inserted: text }],
      [this.durable.replica],
    )
  }

  async delete(index: number, length: number): Promise<void> {
    this.requireEdit()
    const registered = this.registerAuthor()
    const staged = this.durable.stageDelete(index, length)
    await this.sendLocal(
      staged.value,
      { ...staged, registered },
      [{ index, deleted: length, inserted: '' }],
      [this.durable.replica],
    )
  }

  /**
   * This device's text batches that are applied (so in any state taken now, such as a window's opening
   * state) but not yet handed to the 'batch' listeners, which hear them once written: a window that
   * opens in between already has them, and is not sent them again (a file's 10 MB import among them).
   */
  unannounced(): Iterable<Uint8Array> {
    return this.applied
  }

  /**
   * Sends a batch this device made and has applied (`stages`: its record's write and fsync, and the
   * author record it waits for, if any) once written, then hands it to the listeners: a local edit goes
   * to the windows and peers before its fsync (the durability contract, src/main/storage/README.md), as
   * a crash of this process cannot lose it then. Resolves once it is durable, which is when the UI or
   * the CLI hears that it is accepted.
   */
  private async sendLocal(
    batch: Uint8Array,
    stages: Stages & { readonly registered?: Promise<void> },
    changes: TextChange[],
    replicas: readonly string[],
  ): Promise<void> {
    this.applied.add(batch)
    // Sent in the order applied: a batch whose author record is written already must not overtake
    // the one before it, still waiting for its own (peers would hold it until that one came).
    const before = this.sendTurn
    const ready = (async () => {
      await before
      await stages.registered
      await stages.written
    })()
    this.sendTurn = ready.catch(() => undefined)
    try {
      await ready
    } finally {
      this.applied.delete(batch)
    }
    // Peers first: the windows' listeners (status, presence, history) would delay the wire. A socket
    // encrypts and writes in a microtask that broadcast queued (streamx), so the listeners wait for the
    // next one: the keystroke is on the wire before they run, not after.
    this.broadcast(Channel.Text, batch, null)
    await null
    if (changes.length > 0) this.emit('text', changes, 'local')
    this.emit('batch', batch, 'local', false)
    for (const replica of replicas) this.authors.edited(replica)
    this.sealRoundDue()
    await stages.durable
  }

  /**
   * Inserts were refused as malformed (text-doc.ts: origins out of order, or naming no character). Not
   * blamed on the peer that sent the batch: a refused insert may have waited for that batch's ops.
   */
  private logRefused(): void {
    const authors = this.durable.text
      .refusedReplicas()
      .map((replica) => `${replica} (device ${this.authors.deviceOf(replica)?.slice(0, 8) ?? 'unknown'})`)
    this.deps.log(
      `refused ${this.durable.text.refusedCount()} malformed insert(s) in ${this.docId.slice(0, 8)}, made by ` +
        `${authors.join(', ')}: no honest replica makes them, and every replica refuses them alike`,
    )
  }

  /**
   * A batch made by another local replica of this document (the UI's, a merge from disk): applied,
   * stored, sent on. `whole`: nothing is typed after it (a merge from disk), so it is sealed at once,
   * in the same write and fsync as its ops (a shared folder of 2,000 files: 2,000 fsyncs fewer).
   */
  async applyLocalBatch(batch: Uint8Array, whole = false): Promise<TextChange[]> {
    this.requireEdit()
    // Only this device's replicas (the UI's, a disk merge's) may make ops here: the node vouches for them.
    const decoded = decodeTextOps(batch)
    const { replicas, ops } = decoded
    const authors = [...new Set(ops.map((op) => replicas[op.agent]!))]
    const stranger = authors.find((replica) => !this.authors.isOwn(replica))
    if (stranger !== undefined) {
      throw new NotAllowedError(
        `Edits under replica ${stranger} were refused: it is not one of this device's.`,
      )
    }
    // Staged now, as insert() does, before the author records are durable: batches are applied in the
    // order they are given, as the window typed them (waiting first let a replica's second batch
    // overtake its first, whose author record was still being written). The records go into the log
    // ahead of the batch all the same, and sendLocal sends nothing before they are durable.
    // A merge from disk into a file of a project names no author: the merge's replica is bound to this
    // device by its seal, which goes with its ops, and the project's member list names the device
    // (authorOf). A join of 2,000 files checked 4,000 signatures more for records that said no more
    // (each record, and its writer's claim), and share + join took 1.1-1.4 s longer (bench: folder).
    const named = !(whole && this.deps.project)
    const registered = Promise.all(authors.map((replica) => this.registerAuthor(replica, named))).then(
      () => undefined,
    )
    registered.catch(() => undefined) // heard where it is awaited, even if the batch is refused first
    if (this.retype.needed(decoded)) {
      await registered
      this.deps.log(
        `${authors.join(', ')}: counters taken meanwhile (an attested tail): the edits typed again`,
      )
      const changes = await this.retype.apply(decoded)
      this.emit('reset') // the window shows its own characters where this node now holds others
      return changes
    }
    const staged = this.durable.stageText(batch, false, decoded)
    const seals = whole ? authors.map((replica) => this.authors.sealNow(replica)) : []
    // Sealed already: no seal waits for a pause in typing (`edited`).
    await this.sendLocal(batch, { ...staged, registered }, staged.value, whole ? [] : authors)
    for (const seal of seals) if (seal) this.authors.sendSeal(seal)
    return staged.value
  }

  /**
   * A change of the shared folder's file tree by this device (`make`: `tree.create(…).op`,
   * `tree.move(…)`, …, or several, as a folder's changes on disk make; RangeError for a change the
   * tree refuses): signed, durable, then sent. Resolves with the ops made.
   */
  async changeTree(make: (tree: FileTree) => TreeOp | TreeOp[]): Promise<TreeOp[]> {
    this.requireEdit()
    if (this.deps.project) throw new NotAllowedError('A file of a project has no tree of its own.')
    await this.registerAuthor() // its claim goes ahead of it: peers check its signature against it
    let ops: TreeOp[] = []
    const batch = await this.durable.changeTree((tree) => {
      const made = make(tree)
      ops = Array.isArray(made) ? made : [made]
      return ops
    })
    if (ops.length === 0) return ops
    this.broadcast(Channel.Tree, batch, null)
    this.emit('tree', [...new Set(ops.map((op) => op.node))])
    return ops
  }

  async setProp(key: string, value: JsonValue): Promise<void> {
    this.requireEdit()
    this.broadcast(Channel.Props, await this.durable.setProp(key, value), null)
    this.emit('props')
  }

  async deleteProp(key: string): Promise<void> {
    this.requireEdit()
    this.broadcast(Channel.Props, await this.durable.deleteProp(key), null)
    this.emit('props')
  }

  // ---- membership ----------------------------------------------------------------------------------

  /**
   * Adds a member or changes a role, as a change signed by this device. Owners only (the first member
   * of a new document is its creator, as owner). An owner may demote or remove only owners made after
   * it, and never the creator (src/shared/members/authority.ts).
   */
  async setMember(device: string, role: MemberRole, name: string): Promise<void> {
    // The first member is the device that made the document (a joiner has its bootstrap until then).
    if (this.deps.project) throw new NotAllowedError("A file of a project has the project's members.")
    const first = this.durable.members.size === 0 && this.members().length === 0
    if (first ? this.secrets.bootstrap.length > 0 : this.myRole !== 'owner') {
      throw new NotAllowedError('Only an owner can change who is a member of this document.')
    }
    let batch: Uint8Array
    try {
      batch = await this.durable.setMember(this.deps.self, this.deps.sign, {
        target: device,
        role,
        name: truncateString(name, 64),
        time: this.now(),
        ...(this.secrets.nonce ? { genesisNonce: fromHex(this.secrets.nonce) } : {}),
      })
    } catch (err) {
      if (!(err instanceof RangeError)) throw err
      throw new NotAllowedError(
        device === this.durable.members.root()
          ? 'The creator of a document is always one of its owners.'
          : 'Only an owner made before this one can change its role: ask the creator of the document.',
      )
    }
    if (!this.secrets.nonce && this.durable.members.root() === this.deps.self) {
      // This device rooted a document made before signed members: it trusts itself as that root.
      const roots = this.secrets.legacyRoots ?? []
      if (!roots.includes(this.deps.self)) {
        this.secrets.legacyRoots = [...roots, this.deps.self]
        await this.deps.saveSecrets(this.docId, this.secrets)
      }
    }
    this.broadcast(Channel.Members, batch, null)
    this.membersChanged()
  }

  /**
   * A document from before signed members: its owners in the old list become the roots this device
   * trusts, and if this device was one of them it signs the list anew (a root op, then every member's
   * role). Other members keep reading the old list until an owner's signed one arrives.
   */
  async upgradeLegacyMembers(): Promise<void> {
    if (this.deps.project || this.durable.members.root() !== undefined) return
    const legacy = this.members()
    const owners = legacy.filter((m) => m.record.role === 'owner').map((m) => m.device)
    const roots = [...new Set([...(this.secrets.legacyRoots ?? []), ...owners])]
    if (roots.length > (this.secrets.legacyRoots?.length ?? 0)) {
      this.secrets.legacyRoots = roots
      const changed = this.durable.pinLegacyRoots(roots).length > 0
      await this.deps.saveSecrets(this.docId, this.secrets)
      if (changed) this.membersChanged()
    }
    if (!owners.includes(this.deps.self) || this.durable.members.root() !== undefined) return
    await this.setMember(this.deps.self, 'owner', this.member(this.deps.self)?.name ?? this.deps.selfName)
    for (const m of legacy) {
      if (m.device !== this.deps.self && m.record.role !== 'removed') {
        await this.setMember(m.device, m.record.role, m.record.name)
      }
    }
  }

  /**
   * Removes a member and rotates the document key: the remaining members get the new key from an
   * owner (this node, or another owner that has it), the removed device never does, and its sessions
   * lose access at once.
   */
  async removeMember(device: string): Promise<void> {
    const current = this.member(device)
    await this.setMember(device, 'removed', current?.name ?? '')
    const epoch = this.secrets.epoch + 1
    if (!Number.isSafeInteger(epoch)) throw new NotAllowedError('This document has no key epoch left.')
    this.secrets.epoch = epoch
    this.secrets.keys[String(epoch)] = toHex(randomKey())
    await this.deps.saveSecrets(this.docId, this.secrets)
    const key = this.keyFor(epoch)!
    this.emit('key')
    for (const s of this.peers()) s.sendKeyShare(this.docId, epoch, key)
  }

  /**
   * A key-share from `from`, a peer authenticated for this document. Epochs step by one, from owners
   * only: accepted if `from` is an owner in the member list and `epoch` is the next one (or the
   * current one, if this device lacks its key). Anything else is refused, so no member can move the
   * epoch, or make it jump out of reach of the next rotation. Returns why it was refused (for the log),
   * or null: accepted, or a key this device already holds.
   */
  acceptKey(from: string, epoch: number, key: Uint8Array): string | null {
    if (this.deps.project) return 'a file of a project has no key of its own'
    const current = this.secrets.epoch
    const lacking = epoch === current && !this.secrets.keys[String(current)]
    if (epoch <= current && !lacking) return null // a key we hold, or an older one: nothing to do
    if (this.roleOf(from) !== 'owner') return `key epoch ${epoch} offered by a device that is not an owner`
    if (epoch !== current + 1 && !lacking) return `key epoch ${epoch} does not follow ${current}`
    this.secrets.keys[String(epoch)] = toHex(key)
    this.secrets.epoch = epoch
    this.emit('key')
    this.deps
      .saveSecrets(this.docId, this.secrets)
      .then(() => {
        // Only an owner passes it on: members refuse a key-share from anyone else.
        if (this.myRole !== 'owner') return
        for (const s of this.peers()) if (s.remoteKey !== from) s.sendKeyShare(this.docId, epoch, key)
      })
      .catch((err: unknown) => this.emit('error', err as Error))
    return null
  }

  /**
   * The keys to hand a member that proved an older `epoch`, in order (each the next after the one
   * before), so that it steps up to the current epoch; none unless this device is an owner.
   */
  keysAfter(epoch: number): { epoch: number; key: Uint8Array }[] {
    if (this.deps.project) return this.deps.project.keysAfter(epoch)
    if (this.myRole !== 'owner') return []
    const out: { epoch: number; key: Uint8Array }[] = []
    for (let e = epoch + 1; e <= this.secrets.epoch; e++) {
      const key = this.keyFor(e)
      if (!key) break // a gap this owner cannot bridge (it joined after that rotation)
      out.push({ epoch: e, key })
    }
    return out
  }

  /** The project's member list changed: for a file document, its own members changed (they are the same). */
  projectMembersChanged(): void {
    if (this.deps.project) this.membersChanged()
  }

  private membersChanged(): void {
    if (this.secrets.bootstrap.length > 0 && this.member(this.deps.self)) {
      // The member list has arrived and names us: it is the authority from now on.
      this.secrets.bootstrap = []
      delete this.secrets.joinedAs
      this.deps
        .saveSecrets(this.docId, this.secrets)
        .catch((err: unknown) => this.emit('error', err as Error))
    }
    for (const s of this.deps.sessions()) {
      if (!s.isAuthenticated(this.docId)) continue
      if (this.roleOf(s.remoteKey) === undefined) s.revoke(this.docId)
      else s.refreshRole(this.docId)
    }
    this.updateSync() // drops peers that lost access; a joined document's first sync may be over
    // Claims of devices that were not members yet (their member op came later): bound now.
    this.authors.membersChanged()
    this.sealRoundDue()
    this.presence.prune()
    this.emit('members')
  }

  private requireEdit(): void {
    if (!canEdit(this.myRole)) {
      throw new NotAllowedError('This device is a viewer of this document: it can read but not edit.')
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)()
  }

  /** Versions, for status displays and tests. */
  textVersion(): VersionVector {
    return this.durable.text.version()
  }
}
