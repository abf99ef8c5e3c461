/**
 * PeerSession: the protocol state machine for one authenticated connection to another device. It
 * knows nothing of sockets or disks: frames come in through `receive`, go out through the `PeerLink`,
 * and everything about documents is asked of the `SessionHost` (the node). So the same code runs over
 * TCP + Noise and over an in-memory pair in tests.
 *
 * Per document, a session only exchanges data after both sides have proven membership: each sends
 * `doc-auth`, an HMAC with the document key over the Noise handshake hash, the document ID and its own
 * device key. The hash is unique to this connection, so a proof cannot be replayed on another one or
 * relayed through a man in the middle (who would hold two different handshakes), and the sender's key
 * in it stops a proof from being reflected back. A side that cannot prove anything gets `doc-deny`
 * and no data. Updates from viewers are refused.
 *
 * A message that fails validation is a ProtocolError: the caller closes this connection only.
 */
import { splitTextBatch } from '../crdt'
import { splitTreePart } from '../tree/tree-part'
import { concatBytes, toHex, utf8 } from './hex'
import type { SignedPresence } from './presence'
import {
  Channel,
  CHANNELS,
  DOC_ID_BYTES,
  PROTOCOL_VERSION,
  decodeMessage,
  encodeMessage,
  MAX_FILE_VERSIONS,
  type DenyCode,
  type FileVersion,
  type DocBatches,
  type DocVersions,
  type Message,
  type Role,
  type SharedDocInfo,
} from './messages'

/** The connection a session speaks over: authenticated (Noise) and framed. */
export interface PeerLink {
  readonly remoteKey: Uint8Array
  readonly handshakeHash: Uint8Array
  send(frame: Uint8Array): void
  close(reason: string): void
  /**
   * A message handled after `receive` returned (it waited for its document to open: `SessionHost.wake`)
   * threw: what `receive` would have thrown. Without it, the connection is closed.
   */
  failed?(error: unknown): void
}

export interface SyncCrypto {
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array
  /** Constant-time comparison. */
  equal(a: Uint8Array, b: Uint8Array): boolean
}

/** What a session needs to know about, and do with, one document the node holds. */
export interface SessionDoc {
  readonly docId: string
  /**
   * For a file document of a project: the project's ID. A file takes no proof of its own: a peer
   * authenticated for the project is authenticated for its files, with the project's role.
   */
  readonly project?: string | undefined
  /** The current key epoch; keys of earlier epochs stay available to check older proofs. */
  readonly epoch: number
  keyFor(epoch: number): Uint8Array | undefined
  /**
   * The keys of the epochs after `epoch`, in order, for a member that proved that older epoch: a
   * member accepts only the next epoch's key, and only from an owner, so it steps up one at a time.
   * Empty unless this device is an owner.
   */
  keysAfter(epoch: number): readonly { readonly epoch: number; readonly key: Uint8Array }[]
  /** The role of a device (hex key) in this document, or undefined if it is not a member. */
  roleOf(deviceKey: string): Role | undefined
  /** Whether an owner removed the device (it is told so, since it knew the document anyway). */
  isRemoved(deviceKey: string): boolean
  versions(): DocVersions
  /** A digest of the text as a sequence of IDs, sent with every sync request (see `peerVersions`). */
  textOrder(): Uint8Array
  /**
   * An authenticated peer's `sync-request`: what it holds, so also what this side lacks from it and
   * is about to receive (for sync progress); and the digest of its text's order, if it sent one.
   */
  peerVersions(from: PeerSession, v: DocVersions, order?: Uint8Array): void
  /** What a peer at `v` lacks; resolves once all of it is durable (nothing unpersisted is sent). */
  changesSince(v: DocVersions): Promise<DocBatches>
  /**
   * Applies a batch that arrived from `from` (already sent to the devices tagged in `sentTo`, when it
   * came as a live update; `catchUp` when it came in a sync reply, i.e. after time apart); the
   * document deals with its errors itself.
   */
  applyRemote(
    channel: Channel,
    batch: Uint8Array,
    from: PeerSession,
    sentTo: readonly string[],
    catchUp: boolean,
  ): void
  /** A presence from the peer, about itself or relayed (`state` is JSON, already size-checked). */
  applyAwareness(from: PeerSession, presence: SignedPresence, sentTo: readonly string[]): void
  /** The peer no longer has a path to `origin`. */
  awarenessGone(from: PeerSession, origin: string, seq: number): void
  /**
   * Seals (batches for Channel.Seals) of the text a peer at `v` lacks and of the writers of `props`
   * (the properties batch it is sent): sent after the member list (whose devices they bind) and
   * before the properties and text (which they vouch for).
   */
  sealsFor(v: DocVersions, to: PeerSession, props: Uint8Array, tree: Uint8Array): Uint8Array[]
  /** An authenticated peer asks for a seal of `replica` covering its ops up to `counter`. */
  onSealRequest(from: PeerSession, replica: string, counter: number): void
}

export interface SessionHost {
  readonly deviceKey: Uint8Array
  readonly name: string
  readonly appVersion: string
  doc(docId: string): SessionDoc | undefined
  /** Documents this device holds in which `deviceKey` is a member: authenticated proactively. */
  docsFor(deviceKey: string): readonly SessionDoc[]
  sharedDocs(): readonly SharedDocInfo[]
  onHello(session: PeerSession): void
  onSharedDocs(session: PeerSession, docs: readonly SharedDocInfo[]): void
  onJoinRequest(session: PeerSession, docId: string, name: string): void
  /** Checks and consumes an invite; returns what to send back. */
  redeemInvite(
    session: PeerSession,
    docId: string,
    inviteId: Uint8Array,
    proof: Uint8Array,
  ): { role: Role; epoch: number; key: Uint8Array } | DenyCode
  onJoinAccepted(session: PeerSession, docId: string, role: Role, epoch: number, key: Uint8Array): void
  onKeyShare(session: PeerSession, docId: string, epoch: number, key: Uint8Array): void
  onDocDenied(session: PeerSession, docId: string, code: DenyCode, reason: string): void
  onDocReady(session: PeerSession, docId: string): void
  /**
   * What the peer holds of files of the project `projectId` (which it is authenticated for): the
   * host asks it for each file whose digest differs from its own.
   */
  onFileVersions(session: PeerSession, projectId: string, files: readonly FileVersion[]): void
  /**
   * A message about `docId` came and no such document is open: if the host opens it for this peer (a
   * file document of a project the peer is authenticated for, closed while idle), the open under way,
   * after which the message and those that follow it about `docId` are handled, in order.
   */
  wake?(session: PeerSession, docId: string): Promise<unknown> | undefined
  log(message: string): void
}

/**
 * The one answer to a doc-auth from a device that is not a member, whether or not this device holds
 * the document: a stranger must not learn which document IDs a device holds.
 */
const NO_ACCESS = 'no document with that ID on this device is shared with you'

/** The answer to a removed member, which would otherwise keep believing it is one. */
const REMOVED = 'an owner removed this device from the document'

const AUTH_LABEL = utf8('meshpad/doc-auth/v1')
const INVITE_LABEL = utf8('meshpad/invite/v1')

/** The proof that `sender` holds `key` for `docId`, bound to one connection's handshake. */
export function docProof(
  crypto: SyncCrypto,
  key: Uint8Array,
  handshakeHash: Uint8Array,
  docId: string,
  sender: Uint8Array,
  epoch: number,
): Uint8Array {
  return crypto.hmacSha256(
    key,
    concatBytes(AUTH_LABEL, handshakeHash, docIdBytes(docId), sender, utf8(String(epoch))),
  )
}

/** The proof that `sender` holds an invite's secret, bound to one connection's handshake. */
export function inviteProof(
  crypto: SyncCrypto,
  secret: Uint8Array,
  handshakeHash: Uint8Array,
  inviteId: Uint8Array,
  sender: Uint8Array,
): Uint8Array {
  return crypto.hmacSha256(secret, concatBytes(INVITE_LABEL, handshakeHash, inviteId, sender))
}

function docIdBytes(docId: string): Uint8Array {
  const out = new Uint8Array(DOC_ID_BYTES)
  for (let i = 0; i < DOC_ID_BYTES; i++) out[i] = parseInt(docId.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** A batch with nothing in it (a header and a zero count): nothing to send or apply. */
export const isEmptyBatch = (b: Uint8Array): boolean => b.length <= 2

/**
 * Text batches above this go out in several messages, each within a frame (8 MiB): a large paste or a
 * large document's catch-up. Below it a batch is sent as is, byte for byte, without being decoded.
 */
export const TEXT_CHUNK_BYTES = 1 << 20

/**
 * Bytes of messages one connection may keep waiting for their documents to open (`SessionHost.wake`):
 * an open takes milliseconds, so only a flood reaches it; what is past it is dropped (anti-entropy
 * brings it again).
 */
export const MAX_WAITING_BYTES = 16 << 20

/** The messages about one document's content or presence: what may wait for it to open. */
const DOC_CONTENT = new Set(['sync-request', 'sync-reply', 'update', 'seal-request', 'awareness'])

interface DocState {
  /** We sent our proof for this document on this connection. */
  sentAuth: boolean
  /** The key epoch of the last proof we sent. */
  sentEpoch: number
  /** The older epoch the peer proved that we last sent the later keys for. */
  keysAfter: number | undefined
  /** The peer proved membership: it may receive data, and send it (unless a viewer). */
  peerRole: Role | undefined
}

export class PeerSession {
  readonly remoteKey: string
  remoteName = ''
  private helloReceived = false
  private closed = false
  private readonly docs = new Map<string, DocState>()
  /** Messages waiting for their document to open (`SessionHost.wake`), by document, in arrival order. */
  private readonly waiting = new Map<string, { message: Message; bytes: number }[]>()
  private waitingBytes = 0
  /** Documents some of whose messages were dropped while they waited (past MAX_WAITING_BYTES). */
  private readonly dropped = new Set<string>()

  constructor(
    private readonly link: PeerLink,
    private readonly host: SessionHost,
    private readonly crypto: SyncCrypto,
  ) {
    this.remoteKey = toHex(link.remoteKey)
  }

  /** Sends hello; call once when the connection is up. */
  start(): void {
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      app: this.host.appVersion,
      name: this.host.name,
      gotYours: this.helloReceived,
    })
  }

  get ready(): boolean {
    return this.helloReceived && !this.closed
  }

  /** Whether the peer proved membership of `docId` (or of its project) on this connection. */
  isAuthenticated(docId: string): boolean {
    return this.roleOf(docId) !== undefined
  }

  roleOf(docId: string): Role | undefined {
    const project = this.host.doc(docId)?.project
    return this.docs.get(project ?? docId)?.peerRole
  }

  /**
   * Offers our proof for `docId` (after hello); the peer answers with its own and a sync. For a file
   * of a project the peer is authenticated for, asks for what this side lacks of it at once.
   */
  openDoc(docId: string): void {
    const doc = this.host.doc(docId)
    if (doc?.project !== undefined) this.resync(docId)
    else if (doc) this.sendProof(doc, doc.epoch)
  }

  /** Our proof for `doc` with the key of `epoch` (the current one, unless the peer lacks it). */
  private sendProof(doc: SessionDoc, epoch: number): void {
    if (!this.helloReceived) return
    const key = doc.keyFor(epoch)
    if (!key) return
    const state = this.state(doc.docId)
    state.sentAuth = true
    state.sentEpoch = epoch
    this.send({
      type: 'doc-auth',
      docId: doc.docId,
      epoch,
      proof: docProof(this.crypto, key, this.link.handshakeHash, doc.docId, this.host.deviceKey, epoch),
      verified: state.peerRole !== undefined,
    })
  }

  /** Sends a live batch to the peer, if it is authenticated for the document. */
  sendUpdate(docId: string, channel: Channel, batch: Uint8Array, sentTo: readonly string[] = []): void {
    if (!this.isAuthenticated(docId) || isEmptyBatch(batch)) return
    if (channel !== Channel.Text || batch.length <= TEXT_CHUNK_BYTES) {
      // Every keystroke, to every peer: nothing decoded, and encoded once for all of them.
      if (!this.closed) this.link.send(encodeUpdate(docId, channel, batch, sentTo))
      return
    }
    for (const part of splitTextBatch(batch, TEXT_CHUNK_BYTES)) {
      this.send({ type: 'update', docId, channel, batch: part, sentTo })
    }
  }

  sendSealRequest(docId: string, replica: string, counter: number): void {
    if (this.isAuthenticated(docId)) this.send({ type: 'seal-request', docId, replica, counter })
  }

  sendAwareness(docId: string, p: SignedPresence, sentTo: readonly string[]): void {
    if (!this.isAuthenticated(docId)) return
    const { origin, seq, hops, state, signature } = p
    this.send({ type: 'awareness', docId, origin, seq, hops, state, signature, sentTo })
  }

  sendAwarenessGone(docId: string, origin: string, seq: number): void {
    if (this.isAuthenticated(docId)) this.send({ type: 'awareness-gone', docId, origin, seq })
  }

  sendKeyShare(docId: string, epoch: number, key: Uint8Array): void {
    if (this.isAuthenticated(docId)) this.send({ type: 'key-share', docId, epoch, key })
  }

  sendSharedDocs(docs: readonly SharedDocInfo[]): void {
    if (this.helloReceived) this.send({ type: 'shared-docs', docs })
  }

  requestJoin(docId: string, name: string): void {
    this.send({ type: 'join-request', docId, name })
  }

  acceptJoin(docId: string, role: Role, epoch: number, key: Uint8Array): void {
    this.send({ type: 'join-accept', docId, role, epoch, key })
  }

  denyJoin(docId: string, reason: string): void {
    this.send({ type: 'doc-deny', docId, code: 'denied', reason })
  }

  redeemInvite(docId: string, inviteId: Uint8Array, secret: Uint8Array): void {
    const proof = inviteProof(this.crypto, secret, this.link.handshakeHash, inviteId, this.host.deviceKey)
    this.send({ type: 'invite-redeem', docId, inviteId, proof })
  }

  /**
   * Tells the peer what this side holds of `files` of the project `projectId`, in as few messages
   * as MAX_FILE_VERSIONS allows; nothing unless the peer is authenticated for the project.
   */
  sendFileVersions(projectId: string, files: readonly FileVersion[]): void {
    if (!this.isAuthenticated(projectId)) return
    for (let i = 0; i < files.length; i += MAX_FILE_VERSIONS) {
      this.send({ type: 'file-versions', docId: projectId, files: files.slice(i, i + MAX_FILE_VERSIONS) })
    }
  }

  /** Asks the peer now for what this side lacks of one document it is authenticated for. */
  resync(docId: string): void {
    const doc = this.host.doc(docId)
    if (doc && this.isAuthenticated(docId)) this.sendSyncRequest(docId, doc)
  }

  private sendSyncRequest(docId: string, doc: SessionDoc): void {
    this.send({ type: 'sync-request', docId, versions: doc.versions(), order: doc.textOrder() })
  }

  /** Anti-entropy (also the retry of a lost hello): tell the peer what we have, for every authenticated document; it sends what we lack. */
  antiEntropy(): void {
    if (!this.helloReceived) {
      this.start() // our hello may have been lost; the peer ignores a duplicate
      return
    }
    for (const [docId, state] of this.docs) {
      const doc = this.host.doc(docId)
      if (!doc) continue
      if (state.peerRole !== undefined) this.resync(docId)
      else if (!state.sentAuth || doc.roleOf(this.remoteKey) !== undefined) this.openDoc(docId) // retry auth
    }
  }

  /** Handles one frame from the peer. Throws ProtocolError for a malformed or out-of-order message. */
  receive(frame: Uint8Array): void {
    if (this.closed) return
    const m = decodeMessage(frame)
    // Before the peer's hello, nothing else counts. (Over a lossy test link the hello may come late.)
    if (!this.helloReceived && m.type !== 'hello') return
    if (this.mustWait(m, frame.byteLength)) return
    this.handle(m)
  }

  /**
   * Whether `m` waits for its document, which the host is opening: it is kept, and handled once the
   * document is open, after those that came before it about the same document.
   */
  private mustWait(m: Message, bytes: number): boolean {
    if (!DOC_CONTENT.has(m.type) || !('docId' in m)) return false
    const { docId } = m
    let queue = this.waiting.get(docId)
    if (!queue) {
      if (this.host.doc(docId)) return false
      const opening = this.host.wake?.(this, docId)
      if (!opening) return false
      this.waiting.set(docId, (queue = []))
      void opening.then(
        () => this.handleWaiting(docId),
        () => this.handleWaiting(docId),
      )
    }
    if (this.waitingBytes + bytes > MAX_WAITING_BYTES) {
      // Told once per document's wait: a flood would otherwise be a flood of log lines too.
      if (!this.dropped.has(docId))
        this.host.log(
          `dropping messages for ${docId.slice(0, 8)} from ${this.remoteKey.slice(0, 8)}: too many wait for it to open`,
        )
      this.dropped.add(docId)
      return true
    }
    this.waitingBytes += bytes
    queue.push({ message: m, bytes })
    return true
  }

  private handleWaiting(docId: string): void {
    const queue = this.waiting.get(docId) ?? []
    this.waiting.delete(docId)
    this.dropped.delete(docId)
    for (const { message, bytes } of queue) {
      this.waitingBytes -= bytes
      if (this.closed) continue
      try {
        this.handle(message)
      } catch (err) {
        if (this.link.failed) this.link.failed(err)
        else this.link.close(err instanceof Error ? err.message : String(err))
      }
    }
  }

  private handle(m: Message): void {
    switch (m.type) {
      case 'hello':
        return this.onHello(m.protocol, m.name, m.gotYours)
      case 'doc-auth':
        return this.onDocAuth(m.docId, m.epoch, m.proof, m.verified)
      case 'doc-deny':
        if (m.code === 'bad-proof' && this.retryOlderEpoch(m.docId)) return
        return this.host.onDocDenied(this, m.docId, m.code, m.reason)
      case 'sync-request':
        return this.onSyncRequest(m.docId, m.versions, m.order)
      case 'sync-reply': {
        // By channel: a reply carries no seals (they go ahead of it as updates).
        const [text, props, members, tree] = m.batches
        return this.onBatches(m.docId, [text, props, members, EMPTY, tree], [], true)
      }
      case 'update': {
        const batches: Uint8Array[] = [EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY]
        batches[m.channel] = m.batch
        return this.onBatches(m.docId, batches, m.sentTo, false)
      }
      case 'seal-request': {
        const doc = this.host.doc(m.docId)
        if (doc && this.isAuthenticated(m.docId)) doc.onSealRequest(this, m.replica, m.counter)
        return
      }
      case 'awareness':
        return this.authenticatedDoc(m.docId)?.applyAwareness(this, m, m.sentTo)
      case 'awareness-gone':
        return this.authenticatedDoc(m.docId)?.awarenessGone(this, m.origin, m.seq)
      case 'key-share':
        if (this.isAuthenticated(m.docId)) this.host.onKeyShare(this, m.docId, m.epoch, m.key)
        return
      case 'join-request':
        return this.host.onJoinRequest(this, m.docId, m.name)
      case 'join-accept':
        return this.host.onJoinAccepted(this, m.docId, m.role, m.epoch, m.key)
      case 'invite-redeem':
        return this.onInviteRedeem(m.docId, m.inviteId, m.proof)
      case 'shared-docs':
        return this.host.onSharedDocs(this, m.docs)
      case 'file-versions': {
        // Only for a project the peer proved membership of (a file's digest would tell what it holds).
        const project = this.authenticatedDoc(m.docId)
        if (!project || project.project !== undefined) {
          this.host.log(
            `dropped file-versions for ${m.docId.slice(0, 8)} from ${this.remoteKey.slice(0, 8)}: not a project it is authenticated for`,
          )
          return
        }
        return this.host.onFileVersions(this, m.docId, m.files)
      }
    }
  }

  close(): void {
    this.closed = true
  }

  /** Forgets the peer's proof for `docId` (it was removed): it gets nothing more of the document. */
  revoke(docId: string): void {
    const state = this.docs.get(docId)
    if (state) state.peerRole = undefined
  }

  /** Re-reads the peer's role, e.g. after the member list changed. */
  refreshRole(docId: string): void {
    const state = this.docs.get(docId)
    const doc = this.host.doc(docId)
    if (!state || state.peerRole === undefined || !doc) return
    state.peerRole = doc.roleOf(this.remoteKey)
  }

  // ---- handlers ----------------------------------------------------------------------------------

  private onHello(protocol: number, name: string, gotYours: boolean): void {
    const first = !this.helloReceived
    if (first) {
      if (protocol !== PROTOCOL_VERSION) {
        this.link.close(`peer speaks protocol ${protocol}, this node ${PROTOCOL_VERSION}`)
        return
      }
      this.helloReceived = true
      this.remoteName = name
    }
    // A peer that lacks our hello (lost on the way) says so and gets it again. Our reply says we have
    // theirs, and such a hello is never answered: duplication cannot start a ping-pong.
    if (!gotYours) this.start()
    if (!first) return
    this.host.onHello(this)
    for (const doc of this.host.docsFor(this.remoteKey)) this.openDoc(doc.docId)
  }

  private onDocAuth(docId: string, epoch: number, proof: Uint8Array, peerVerifiedUs: boolean): void {
    const doc = this.host.doc(docId)
    const deny = (code: DenyCode, reason: string): void => {
      // No state is created for documents we do not hold: a stranger must not grow our memory.
      const known = this.docs.get(docId)
      if (known) known.peerRole = undefined
      this.send({ type: 'doc-deny', docId, code, reason })
    }
    // One code and reason, one path, for "no such document" and "not a member" (see NO_ACCESS).
    const role = doc?.roleOf(this.remoteKey)
    if (doc?.isRemoved(this.remoteKey)) return deny('not-a-member', REMOVED)
    // A file of a project is proven through its project, never on its own (see SessionDoc.project).
    if (!doc || !role || doc.project !== undefined) return deny('not-a-member', NO_ACCESS)
    const key = doc.keyFor(epoch)
    if (!key) return deny('bad-proof', `unknown key epoch ${epoch}`)
    const expected = docProof(this.crypto, key, this.link.handshakeHash, docId, this.link.remoteKey, epoch)
    if (!this.crypto.equal(expected, proof)) return deny('bad-proof', 'the membership proof does not verify')

    const state = this.state(docId)
    const first = state.peerRole === undefined
    state.peerRole = role
    if (epoch < doc.epoch) {
      // The peer missed a key rotation (or holds another key for ours), so it cannot check a proof of
      // our epoch: unless it already verified us, it gets one of the epoch it proved (two peers that
      // both prove an older epoch would otherwise answer each other forever); and, once, the keys
      // after it (from an owner), in order: it accepts only the next.
      if (!peerVerifiedUs) this.sendProof(doc, epoch)
      if (state.keysAfter !== epoch) {
        state.keysAfter = epoch // once per connection and epoch proved
        for (const k of doc.keysAfter(epoch)) this.sendKeyShare(docId, k.epoch, k.key)
      }
    } else if (!peerVerifiedUs) {
      // The peer says whether it holds our proof; if not (never sent, or lost), it gets it now.
      this.openDoc(docId)
    }
    if (first) {
      // Once per authentication: each side gets two proofs, and two requests would mean every
      // missing op sent twice. A lost request is repaired by anti-entropy.
      this.sendSyncRequest(docId, doc)
      this.host.onDocReady(this, docId)
    }
  }

  /**
   * The peer could not check our proof: it lacks our epoch, or holds another key for it (two owners
   * rotated the key while apart, or a removed owner planted one before its removal reached the peer).
   * Membership is checked apart from the key, so a proof of an older epoch, which every member holds,
   * is as good: we step down one epoch per denial until one verifies (then the owners' keys and the
   * member list sync as usual). Returns whether a proof was sent.
   */
  private retryOlderEpoch(docId: string): boolean {
    const state = this.docs.get(docId)
    const doc = this.host.doc(docId)
    if (!state?.sentAuth || !doc || state.sentEpoch === 0 || !doc.keyFor(state.sentEpoch - 1)) return false
    this.sendProof(doc, state.sentEpoch - 1)
    return true
  }

  private onSyncRequest(docId: string, versions: DocVersions, order: Uint8Array | undefined): void {
    const doc = this.host.doc(docId)
    if (!doc || !this.isAuthenticated(docId)) return // never any data before the peer has proven membership
    doc.peerVersions(this, versions, order)
    doc.changesSince(versions).then(
      (batches) => {
        // Re-check: the peer may have been removed while the batches were being made durable.
        if (!this.isAuthenticated(docId) || batches.every(isEmptyBatch)) return
        try {
          this.sendSyncReply(docId, batches, doc.sealsFor(versions, this, batches[1], batches[3]))
        } catch (err) {
          // E.g. a properties batch above the frame cap: this reply fails, the node and link do not.
          this.host.log(`sync-reply for ${docId.slice(0, 8)} not sent: ${String(err)}`)
        }
      },
      (err: unknown) => this.host.log(`sync-reply for ${docId.slice(0, 8)} failed: ${String(err)}`),
    )
  }

  /**
   * A reply goes as several messages, applied in order by the peer: the members first (they say which
   * devices' seals count), then the seals that vouch for the properties, the tree and the text, then
   * the properties, the file tree (which files there are), then the text (in several replies if it is
   * too big for one frame).
   */
  private sendSyncReply(docId: string, batches: DocBatches, seals: readonly Uint8Array[]): void {
    const [text, props, members, tree] = batches
    if (!isEmptyBatch(members))
      this.send({ type: 'sync-reply', docId, batches: [EMPTY, EMPTY, members, EMPTY] })
    for (const batch of seals) this.sendUpdate(docId, Channel.Seals, batch)
    if (!isEmptyBatch(props)) this.send({ type: 'sync-reply', docId, batches: [EMPTY, props, EMPTY, EMPTY] })
    // One batch of tree ops per reply: a large tree would not fit one frame.
    for (const part of splitTreePart(tree))
      this.send({ type: 'sync-reply', docId, batches: [EMPTY, EMPTY, EMPTY, part] })
    if (isEmptyBatch(text)) return
    for (const part of splitTextBatch(text, TEXT_CHUNK_BYTES)) {
      this.send({ type: 'sync-reply', docId, batches: [part, EMPTY, EMPTY, EMPTY] })
    }
  }

  private onBatches(
    docId: string,
    batches: readonly Uint8Array[],
    sentTo: readonly string[],
    catchUp: boolean,
  ): void {
    const doc = this.host.doc(docId)
    const role = this.roleOf(docId)
    if (!doc) {
      // E.g. a project's file not opened here yet (a joiner opens them a few at a time): once open, it
      // asks its peers for what it lacks.
      this.host.log(`dropped data for ${docId.slice(0, 8)} from ${this.remoteKey.slice(0, 8)}: not open here`)
      return
    }
    if (role === undefined) {
      this.host.log(
        `dropped data for ${docId.slice(0, 8)} from unauthenticated peer ${this.remoteKey.slice(0, 8)}`,
      )
      return
    }
    // Seals only vouch for others' ops (they change nothing here by themselves): a viewer may pass them on.
    // So may versions (src/main/node/forks.ts): each is checked against its device's seal.
    for (const channel of [Channel.Seals, Channel.Versions]) {
      const batch = batches[channel]
      if (batch && !isEmptyBatch(batch)) doc.applyRemote(channel, batch, this, sentTo, catchUp)
    }
    if (role === 'viewer') {
      // A viewer's reply to our sync request carries what it holds (others' edits, the member list):
      // dropped without a word, as it sent nothing of its own. Only an update is an edit it tried.
      if (!catchUp && CHANNELS.some((channel) => !isEmptyBatch(batches[channel]!))) {
        this.host.log(`refused edits to ${docId.slice(0, 8)} from viewer ${this.remoteKey.slice(0, 8)}`)
        this.send({ type: 'doc-deny', docId, code: 'read-only', reason: 'viewers cannot edit this document' })
      }
      return
    }
    for (const channel of CHANNELS) {
      const batch = batches[channel]!
      if (!isEmptyBatch(batch)) doc.applyRemote(channel, batch, this, sentTo, catchUp)
    }
  }

  private onInviteRedeem(docId: string, inviteId: Uint8Array, proof: Uint8Array): void {
    const result = this.host.redeemInvite(this, docId, inviteId, proof)
    if (typeof result === 'string') {
      this.send({ type: 'doc-deny', docId, code: result, reason: 'the invite is unknown, used or expired' })
      return
    }
    this.acceptJoin(docId, result.role, result.epoch, result.key)
  }

  // ---- helpers -----------------------------------------------------------------------------------

  /** The document, if the peer proved membership of it on this connection (no data before that). */
  private authenticatedDoc(docId: string): SessionDoc | undefined {
    return this.isAuthenticated(docId) ? this.host.doc(docId) : undefined
  }

  private state(docId: string): DocState {
    let s = this.docs.get(docId)
    if (!s) {
      s = { sentAuth: false, sentEpoch: 0, keysAfter: undefined, peerRole: undefined }
      this.docs.set(docId, s)
    }
    return s
  }

  private send(m: Message): void {
    if (!this.closed) this.link.send(encodeMessage(m))
  }
}

const EMPTY = new Uint8Array(0)

interface EncodedUpdate {
  readonly docId: string
  readonly channel: Channel
  readonly batch: Uint8Array
  readonly sentTo: readonly string[]
  readonly frame: Uint8Array
}

/**
 * The last updates encoded, kept while a broadcast sends them on: a node passes a batch to each peer
 * with the same list of devices it went to, so a keystroke in a mesh of 16 was encoded 15 times (the
 * device tags most of its bytes), now once. More than one, because a broadcast can send each peer the
 * seals its batch needs ahead of it: with one kept, the two evicted each other at every peer. Frames
 * are only read after (each link frames and encrypts them).
 */
const recentUpdates: EncodedUpdate[] = []
const RECENT_UPDATES = 4

/** Above this, an update is not kept for the next peer (it would stay alive until the next update). */
const KEEP_UPDATE_BYTES = 64 * 1024

/** An update message, encoded once for the peers a broadcast sends it to (see `recentUpdates`). */
export function encodeUpdate(
  docId: string,
  channel: Channel,
  batch: Uint8Array,
  sentTo: readonly string[],
): Uint8Array {
  const kept = recentUpdates.find(
    (u) => u.batch === batch && u.sentTo === sentTo && u.docId === docId && u.channel === channel,
  )
  if (kept) return kept.frame
  const frame = encodeMessage({ type: 'update', docId, channel, batch, sentTo })
  if (batch.length <= KEEP_UPDATE_BYTES) {
    recentUpdates.unshift({ docId, channel, batch, sentTo, frame })
    recentUpdates.length = Math.min(recentUpdates.length, RECENT_UPDATES)
  }
  return frame
}
