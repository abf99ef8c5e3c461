/**
 * DocSession: one open document on this node — its durable replica (text, properties, members), its
 * keys, and the peers it syncs with. Local edits and remote batches both go through here: applied,
 * made durable, then passed on (to every other authenticated peer, and to listeners such as the UI
 * or the CLI). Nothing is broadcast before it is on disk.
 */
import { EventEmitter } from 'node:events'
import { decodeTextOps } from '../../shared/crdt/text-codec'
import { CrdtDecodeError, type TextChange, type VersionVector } from '../../shared/crdt'
import { Channel, peerTag, type DocBatches, type DocVersions, type Role } from '../../shared/sync/messages'
import type { PeerSession, SessionDoc } from '../../shared/sync/session'
import { fromHex, toHex } from '../../shared/sync/hex'
import type { DurableDoc, JsonValue } from '../storage/durable-doc'
import { randomKey } from './crypto'
import { canEdit, parseMember, type MemberRecord, type MemberRole } from './members'

/** What only this device knows about a document: its keys, and peers trusted while joining. */
export interface DocSecrets {
  epoch: number
  /** Key (hex) per epoch; older ones stay to check proofs from members that have not caught up. */
  keys: Record<string, string>
  /** Device keys trusted as owners until the member list has arrived (the device we joined through). */
  bootstrap: string[]
}

export interface DocSessionDeps {
  readonly self: string
  readonly selfName: string
  /** Sessions with peers that may hold this document (filtered by authentication here). */
  readonly sessions: () => Iterable<PeerSession>
  readonly saveSecrets: (docId: string, secrets: DocSecrets) => Promise<void>
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

export interface DocSessionEvents {
  text: [changes: TextChange[], origin: ChangeOrigin]
  /**
   * The op batch behind a text change, once it is durable: for other replicas of this document on this
   * device (the UI's), which need ops, not positions. 'local' batches come from this node or from
   * `applyLocalBatch` (the same object that was passed in, so its sender can skip its own echo).
   */
  batch: [batch: Uint8Array, origin: ChangeOrigin]
  props: []
  members: []
  /** The document key changed (a member was removed): LAN hints must be recomputed. */
  key: []
  awareness: []
  error: [error: Error]
}

export class NotAllowedError extends Error {
  readonly code = 'NOT_ALLOWED'
}

const AWARENESS_TTL_MS = 30_000
/** Property keys that map a replica ID to its author (device and name); hidden from the Properties panel. */
export const AUTHOR_PREFIX = 'author:'
const isEmpty = (b: Uint8Array): boolean => b.length <= 2

export class DocSession extends EventEmitter<DocSessionEvents> implements SessionDoc {
  private readonly presence = new Map<string, PeerPresence & { seq: number }>()
  private awarenessSeq = 0
  /** Replicas whose author record this session has written (this node's, and its UI's). */
  private readonly authorsRegistered = new Set<string>()

  constructor(
    readonly durable: DurableDoc,
    private readonly secrets: DocSecrets,
    private readonly deps: DocSessionDeps,
  ) {
    super()
  }

  get docId(): string {
    return this.durable.docId
  }

  get epoch(): number {
    return this.secrets.epoch
  }

  keyFor(epoch: number): Uint8Array | undefined {
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

  member(device: string): MemberRecord | undefined {
    return parseMember(this.durable.members.get(device))
  }

  members(): { device: string; record: MemberRecord }[] {
    const out: { device: string; record: MemberRecord }[] = []
    for (const [device, value] of this.durable.members.entries()) {
      const record = parseMember(value)
      if (record) out.push({ device, record })
    }
    return out
  }

  roleOf(device: string): Role | undefined {
    const role = this.member(device)?.role
    if (role === 'removed') return undefined
    if (role) return role
    return this.secrets.bootstrap.includes(device) ? 'owner' : undefined
  }

  get myRole(): MemberRole | undefined {
    return this.member(this.deps.self)?.role ?? (this.secrets.bootstrap.length > 0 ? 'editor' : undefined)
  }

  versions(): DocVersions {
    return [this.durable.text.version(), this.durable.props.version(), this.durable.members.version()]
  }

  async changesSince(v: DocVersions): Promise<DocBatches> {
    return [
      await this.durable.textChangesSince(v[0]),
      await this.durable.propChangesSince(v[1]),
      await this.durable.memberChangesSince(v[2]),
    ]
  }

  /** Every authenticated peer session for this document. */
  peers(): PeerSession[] {
    return [...this.deps.sessions()].filter((s) => s.isAuthenticated(this.docId))
  }

  // ---- remote --------------------------------------------------------------------------------------

  applyRemote(channel: Channel, batch: Uint8Array, from: PeerSession, sentTo: readonly string[] = []): void {
    void this.applyAndForward(channel, batch, from, sentTo)
  }

  private async applyAndForward(
    channel: Channel,
    batch: Uint8Array,
    from: PeerSession | null,
    sentTo: readonly string[] = [],
  ): Promise<void> {
    let isNew: boolean
    try {
      // A replica applies a batch synchronously and then makes it durable; only a batch that taught
      // this replica something is passed on, or peers in a cycle would echo duplicates forever.
      const before = this.progress(channel)
      if (channel === Channel.Text) {
        const applying = this.durable.applyText(batch)
        isNew = this.progress(channel) !== before
        const changes = await applying
        if (changes.length > 0) this.emit('text', changes, 'remote')
        if (isNew) this.emit('batch', batch, 'remote')
      } else if (channel === Channel.Props) {
        const applying = this.durable.applyProps(batch)
        isNew = this.progress(channel) !== before
        if ((await applying).length > 0) this.emit('props')
      } else {
        const applying = this.durable.applyMembers(batch)
        isNew = this.progress(channel) !== before
        if ((await applying).length > 0) this.membersChanged()
      }
    } catch (err) {
      if (err instanceof CrdtDecodeError && from) {
        this.deps.log(
          `malformed batch for ${this.docId.slice(0, 8)} from ${from.remoteKey.slice(0, 8)}: ${err.message}`,
        )
        from.revoke(this.docId)
        return
      }
      this.emit('error', err as Error)
      return
    }
    if (isNew) this.broadcast(channel, batch, from, sentTo)
  }

  /** How much a replica holds: ops applied plus ops parked. It grows exactly when a batch was news. */
  private progress(channel: Channel): number {
    const crdt =
      channel === Channel.Text
        ? this.durable.text
        : channel === Channel.Props
          ? this.durable.props
          : this.durable.members
    let n = crdt.pendingCount()
    for (const counter of Object.values(crdt.version())) n += counter
    return n
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
    if (isEmpty(batch)) return
    const skip = new Set(sentTo)
    const targets = this.peers().filter((s) => s !== except && !skip.has(peerTag(s.remoteKey)))
    if (targets.length === 0) return
    const reached = new Set(sentTo)
    reached.add(peerTag(this.deps.self))
    if (except) reached.add(peerTag(except.remoteKey))
    for (const s of targets) reached.add(peerTag(s.remoteKey))
    const list = [...reached]
    for (const s of targets) s.sendUpdate(this.docId, channel, batch, list)
  }

  applyAwareness(from: PeerSession, seq: number, state: string): void {
    const prev = this.presence.get(from.remoteKey)
    if (prev && prev.seq >= seq) return
    let parsed: JsonValue
    try {
      parsed = JSON.parse(state) as JsonValue
    } catch {
      return // presence is best effort: a malformed one is ignored
    }
    const now = (this.deps.now ?? Date.now)()
    this.presence.set(from.remoteKey, {
      device: from.remoteKey,
      name: from.remoteName,
      state: parsed,
      seq,
      expires: now + AWARENESS_TTL_MS,
    })
    this.emit('awareness')
  }

  /** Presence of the peers in this document, expired entries dropped. */
  presences(): PeerPresence[] {
    const now = (this.deps.now ?? Date.now)()
    for (const [k, p] of this.presence) if (p.expires <= now) this.presence.delete(k)
    return [...this.presence.values()].map(({ device, name, state, expires }) => ({
      device,
      name,
      state,
      expires,
    }))
  }

  /** Publishes this device's presence (cursor, selection, name, colour) to the peers. */
  setAwareness(state: JsonValue): void {
    const json = JSON.stringify(state)
    this.awarenessSeq++
    for (const s of this.peers()) s.sendAwareness(this.docId, this.awarenessSeq, json)
  }

  // ---- local edits ---------------------------------------------------------------------------------

  /** Who wrote with a replica: every replica that edits records its device and name in the properties. */
  authorOf(replica: string): { device: string; name: string } | undefined {
    const v = this.durable.props.get(`${AUTHOR_PREFIX}${replica}`)
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
    const { device, name } = v as { device?: unknown; name?: unknown }
    return typeof device === 'string' && typeof name === 'string' ? { device, name } : undefined
  }

  /** Before this replica's first edit: tell everyone whose it is (history shows authors by name). */
  private async registerAuthor(replica = this.durable.replica): Promise<void> {
    if (this.authorsRegistered.has(replica)) return
    this.authorsRegistered.add(replica)
    if (this.authorOf(replica)) return // already recorded (a reopened document)
    const key = `${AUTHOR_PREFIX}${replica}`
    this.broadcast(
      Channel.Props,
      await this.durable.setProp(key, { device: this.deps.self, name: this.deps.selfName }),
      null,
    )
  }

  async insert(index: number, text: string): Promise<void> {
    this.requireEdit()
    await this.registerAuthor()
    const batch = await this.durable.insert(index, text)
    this.emit('text', [{ index, deleted: 0, inserted: text }], 'local')
    this.emit('batch', batch, 'local')
    this.broadcast(Channel.Text, batch, null)
  }

  async delete(index: number, length: number): Promise<void> {
    this.requireEdit()
    await this.registerAuthor()
    const batch = await this.durable.delete(index, length)
    this.emit('text', [{ index, deleted: length, inserted: '' }], 'local')
    this.emit('batch', batch, 'local')
    this.broadcast(Channel.Text, batch, null)
  }

  /** A batch made by another local replica of this document (the UI's): applied, stored, sent on. */
  async applyLocalBatch(batch: Uint8Array): Promise<TextChange[]> {
    this.requireEdit()
    // A local batch's first replica is the replica that made it (the UI's own): that is its author.
    const author = decodeTextOps(batch).replicas[0]
    await this.registerAuthor(author ?? this.durable.replica)
    const changes = await this.durable.applyText(batch)
    if (changes.length > 0) this.emit('text', changes, 'local')
    this.emit('batch', batch, 'local')
    this.broadcast(Channel.Text, batch, null)
    return changes
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

  /** Adds a member or changes a role. Owners only (the first member of a new document is its owner). */
  async setMember(device: string, role: MemberRole, name: string): Promise<void> {
    if (this.members().length > 0 && this.myRole !== 'owner') {
      throw new NotAllowedError('Only an owner can change who is a member of this document.')
    }
    const batch = await this.durable.setMember(device, { role, name })
    this.broadcast(Channel.Members, batch, null)
    this.membersChanged()
  }

  /**
   * Removes a member and rotates the document key: the remaining members get the new key from any
   * member that has it, the removed device never does, and its sessions lose access at once.
   */
  async removeMember(device: string): Promise<void> {
    const current = this.member(device)
    await this.setMember(device, 'removed', current?.name ?? '')
    this.secrets.epoch++
    this.secrets.keys[String(this.secrets.epoch)] = toHex(randomKey())
    await this.deps.saveSecrets(this.docId, this.secrets)
    const key = this.keyFor(this.secrets.epoch)!
    this.emit('key')
    for (const s of this.peers()) s.sendKeyShare(this.docId, this.secrets.epoch, key)
  }

  /** A newer key from an authenticated member. */
  async acceptKey(epoch: number, key: Uint8Array): Promise<void> {
    if (epoch <= this.secrets.epoch || this.secrets.keys[String(epoch)]) return
    this.secrets.keys[String(epoch)] = toHex(key)
    this.secrets.epoch = epoch
    await this.deps.saveSecrets(this.docId, this.secrets)
    this.emit('key')
    for (const s of this.peers()) s.sendKeyShare(this.docId, epoch, key)
  }

  private membersChanged(): void {
    if (this.secrets.bootstrap.length > 0 && this.member(this.deps.self)) {
      // The member list has arrived and names us: it is the authority from now on.
      this.secrets.bootstrap = []
      this.deps
        .saveSecrets(this.docId, this.secrets)
        .catch((err: unknown) => this.emit('error', err as Error))
    }
    for (const s of this.deps.sessions()) {
      if (!s.isAuthenticated(this.docId)) continue
      if (this.roleOf(s.remoteKey) === undefined) s.revoke(this.docId)
      else s.refreshRole(this.docId)
    }
    this.emit('members')
  }

  private requireEdit(): void {
    if (!canEdit(this.myRole)) {
      throw new NotAllowedError('This device is a viewer of this document: it can read but not edit.')
    }
  }

  /** Versions, for status displays and tests. */
  textVersion(): VersionVector {
    return this.durable.text.version()
  }
}
