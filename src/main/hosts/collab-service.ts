/**
 * The collaboration half of the app API (src/shared/api.ts): Nearby, joining (by request or invite),
 * sharing and members, presence, authors, document properties and the user's settings, over the
 * PeerNode's Workspace. AppService composes it into every window's client and gives it a way to send
 * events: to every window (Nearby, join requests, settings) or to the windows that show a document.
 */
import {
  type ApiEvent,
  type AuthorInfo,
  type CursorAnchors,
  type DocRole,
  type InviteInfo,
  type JoinRequestInfo,
  type MemberInfo,
  type NearbyDevice,
  type PresenceInfo,
  type PropEntry,
  type RestoreNotice,
  type Settings,
  type SharingInfo,
} from '../../shared/api'
import { assignColors, colorOf } from '../../shared/palette'
import { PRESENCE_REFRESH_MS } from '../../shared/sync/presence'
import type { JsonValue } from '../storage/durable-doc'
import { fromHex } from '../../shared/sync/hex'
import { deviceIdOf } from '../net/device-key'
import { NetError } from '../net/errors'
import type { DocSession } from '../node/doc-session'
import { AUTHOR_PREFIX } from '../node/signed-props'
import { decodeInvite, type InviteKind } from '../node/invite-code'
import { APP_JOIN, NO_INVITE, readInvite, requireInviteKind } from './invite-text'
import { makeRecord, noticeFor, readReport, RESTORE_KEY } from './restore-record'
import { ToldRestores } from './told-restores'
import type { PeerNode } from '../node/peer-node'
import { WorkspaceError } from '../node/workspace'
import { JsonFile } from '../shell/json-file'
import { DEFAULT_KEEP_DELETED } from '../storage/text-retention'

const MAX_NAME = 64
const MAX_PROP_KEY = 128
const MAX_PROP_VALUE = 16 * 1024
const MAX_PROPS = 128
const COLOR = /^#[0-9a-f]{6}$/
const ROLES: readonly DocRole[] = ['owner', 'editor', 'viewer']

/** The largest multiple of a document's length the keep-deleted setting takes. */
const MAX_KEEP_DELETED = 1_000_000

interface StoredSettings {
  readonly displayName: string | null
  readonly color: string | null
  /** Settings.keepDeleted; null: the default. */
  readonly keepDeleted?: number | 'all' | null
}

/** A `keepDeleted` setting as given, or undefined if it is not one. */
const keepDeletedOf = (v: unknown): number | 'all' | undefined =>
  v === 'all' || (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_KEEP_DELETED)
    ? v
    : undefined

const validSettings = (raw: unknown): StoredSettings | null => {
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  return {
    displayName: typeof r['displayName'] === 'string' ? r['displayName'].slice(0, MAX_NAME) : null,
    color: typeof r['color'] === 'string' && COLOR.test(r['color']) ? r['color'] : null,
    keepDeleted: keepDeletedOf(r['keepDeleted']) ?? null,
  }
}

/** Properties Meshpad keeps for itself: never listed, set or removed as people's own. */
const internalKey = (key: string): boolean => key.startsWith(AUTHOR_PREFIX) || key === RESTORE_KEY

const deviceIdFor = (device: string): string => {
  try {
    return deviceIdOf(fromHex(device))
  } catch {
    return device.slice(0, 16)
  }
}

const badArgument = (message: string): WorkspaceError => new WorkspaceError('BAD_ARGUMENT', message)

function requireRole(role: unknown): DocRole {
  if (!ROLES.includes(role as DocRole)) throw badArgument('The role must be owner, editor or viewer.')
  return role as DocRole
}

/** A presence state from a peer, checked: peers are untrusted, so anything malformed is dropped. */
function cursorOf(state: JsonValue): CursorAnchors | null {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return null
  const cursor = (state as Record<string, JsonValue>)['cursor']
  if (typeof cursor !== 'object' || cursor === null || Array.isArray(cursor)) return null
  const ref = (v: JsonValue | undefined): CursorAnchors['anchor'] | undefined => {
    if (v === null) return null
    if (typeof v !== 'object' || Array.isArray(v) || v === undefined) return undefined
    const { replica, counter } = v as Record<string, JsonValue>
    return typeof replica === 'string' &&
      typeof counter === 'number' &&
      Number.isInteger(counter) &&
      counter > 0
      ? { replica, counter }
      : undefined
  }
  const anchor = ref(cursor['anchor'])
  const head = ref(cursor['head'])
  return anchor === undefined || head === undefined ? null : { anchor, head }
}

const field = (state: JsonValue, key: string): string | null => {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return null
  const v = (state as Record<string, JsonValue>)[key]
  return typeof v === 'string' ? v : null
}

/** Why connecting to `where` failed, for people: the network's own words say what to do. */
function connectFailure(err: unknown, where: string): string {
  if (err instanceof NetError && err.code === 'SELF_CONNECTION')
    return `${where} is this device itself: give the address of the other device.`
  if (err instanceof NetError || err instanceof WorkspaceError) return err.message
  return `Could not connect to ${where}: ${err instanceof Error ? err.message : String(err)}`
}

export interface CollabOptions {
  readonly node: PeerNode
  readonly dataDir: string
  /** Sends `event` to every window (docId null) or to the windows that have `docId` open. */
  readonly emit: (event: ApiEvent, docId: string | null) => void
  /** Whether a window has `docId` open now. */
  readonly viewing: (docId: string) => boolean
}

export class Collaboration {
  private readonly node: PeerNode
  private readonly settingsFile: JsonFile<StoredSettings>
  private stored: StoredSettings = { displayName: null, color: null }
  /** This device's cursor per document (the last window to report one), republished to peers. */
  private readonly cursors = new Map<string, CursorAnchors>()
  private readonly timer: NodeJS.Timeout
  /** People's colours as last given out, for colouring their text even after they leave. */
  private readonly knownColors = new Map<string, string>()
  /** A restore that removed this person's text while no window showed its document: told at the next open. */
  private readonly untold = new Map<string, RestoreNotice>()
  /** Which restores were told, across runs. */
  private readonly told: ToldRestores
  /** Each watched document's reaction to connections opening and closing (one listener for them all). */
  private readonly peerWatchers = new Set<() => void>()
  private readonly unsubscribe: () => void

  constructor(private readonly options: CollabOptions) {
    this.node = options.node
    this.settingsFile = new JsonFile(options.dataDir, 'settings.json', validSettings, this.stored)
    this.told = new ToldRestores(options.dataDir, this.node.log)
    const settings = this.settingsFile.read().then((stored) => {
      this.stored = stored
      if (stored.displayName) this.node.workspace.name = stored.displayName
      this.applyKeepDeleted()
    })
    this.ready = Promise.all([settings, this.told.ready]).then(() => undefined)
    this.timer = setInterval(() => this.publishAll(), PRESENCE_REFRESH_MS)
    this.timer.unref()
    const ws = this.node.workspace
    const onNearby = (): void => {
      this.options.emit({ type: 'nearby', devices: this.nearby() }, null)
      this.publishAll() // a peer that just connected sees where everyone is
    }
    const onJoinRequest = (): void => {
      for (const request of this.joinRequests()) this.options.emit({ type: 'join-request', request }, null)
    }
    // Expired, or the requester left: its notification goes, as for an answered one.
    const onJoinGone = (id: string): void => this.options.emit({ type: 'join-answered', id }, null)
    const onJoined = (docId: string, ok: boolean, message: string): void => {
      this.options.emit({ type: 'joined', docId, ok, message }, null)
      if (ok) this.options.emit({ type: 'nearby', devices: this.nearby() }, null) // now "joined"
    }
    const onPeers = (): void => {
      onNearby()
      for (const watcher of this.peerWatchers) watcher()
    }
    ws.on('peers', onPeers)
    ws.on('shared-docs', onNearby)
    ws.on('join-request', onJoinRequest)
    ws.on('join-request-gone', onJoinGone)
    ws.on('join-result', onJoined)
    this.unsubscribe = () => {
      ws.off('peers', onPeers)
      ws.off('shared-docs', onNearby)
      ws.off('join-request', onJoinRequest)
      ws.off('join-request-gone', onJoinGone)
      ws.off('join-result', onJoined)
    }
  }

  /** Resolves once the saved settings (name, colour) are loaded and the name applied to the node. */
  readonly ready: Promise<void>

  close(): void {
    clearInterval(this.timer)
    this.unsubscribe()
  }

  /**
   * The restore notice that arrived for `docId` while no window showed it (in this run, or while
   * Meshpad was closed), once: the window opening it now tells its person.
   */
  async takeUntold(session: DocSession): Promise<RestoreNotice | undefined> {
    await this.told.ready
    const docId = session.docId
    const notice = this.untold.get(docId) ?? this.restoreFor(session)
    this.untold.delete(docId)
    if (!notice || this.told.isTold(docId, notice)) return undefined
    this.markTold(docId, notice)
    return notice
  }

  /** The notice the document's last restore holds for this person, if it removed any of their text. */
  private restoreFor(session: DocSession): RestoreNotice | null {
    const record = session.durable.props.get(RESTORE_KEY)
    return noticeFor(record, this.node.workspace.self, session.propWriter(RESTORE_KEY))
  }

  private markTold(docId: string, notice: RestoreNotice): void {
    this.told.markTold(docId, notice, (message) => this.node.log(`restore notices: ${message}`))
  }

  /** Forwards a document's collaboration events to its windows; returns the unsubscribe. */
  watch(session: DocSession): () => void {
    const docId = session.docId
    const onMembers = (): void =>
      this.options.emit({ type: 'sharing', sharing: this.sharing(session) }, docId)
    // Members show who is connected: a connection that opens or closes changes that.
    const connected = (): string =>
      session
        .peers()
        .map((p) => p.remoteKey)
        .sort()
        .join()
    let online = connected()
    const onPeers = (): void => {
      const now = connected()
      if (now === online) return
      online = now
      onMembers()
    }
    const onAwareness = (): void =>
      this.options.emit({ type: 'presence', docId, people: this.presence(session) }, docId)
    // A restore is told once (across runs): when its record arrives, or, if no window shows the
    // document then, when one next opens it.
    let lastRestore = JSON.stringify(session.durable.props.get(RESTORE_KEY) ?? null)
    const onProps = (): void => {
      this.options.emit({ type: 'props', docId, props: this.props(session) }, docId)
      const now = JSON.stringify(session.durable.props.get(RESTORE_KEY) ?? null)
      if (now === lastRestore) return
      lastRestore = now
      const restore = this.restoreFor(session)
      if (!restore || this.told.isTold(docId, restore)) return
      if (this.options.viewing(docId)) {
        this.options.emit({ type: 'restored', docId, restore }, docId)
        this.markTold(docId, restore)
      } else this.untold.set(docId, restore)
    }
    session.on('members', onMembers)
    session.on('awareness', onAwareness)
    session.on('props', onProps)
    this.peerWatchers.add(onPeers)
    return () => {
      this.peerWatchers.delete(onPeers)
      session.off('members', onMembers)
      session.off('awareness', onAwareness)
      session.off('props', onProps)
    }
  }

  // ---- Nearby and joining ------------------------------------------------------------------------

  nearby(): NearbyDevice[] {
    const ws = this.node.workspace
    return ws.nearby().map((d) => ({
      device: d.device,
      deviceId: deviceIdFor(d.device),
      name: d.name,
      docs: d.docs.map((doc) => ({ ...doc, joined: ws.doc(doc.docId)?.myRole !== undefined })),
    }))
  }

  /**
   * Connects to a device by address. Answers at once with the address as understood; the outcome
   * follows as a `peer-added` event (a request waiting for it would hold up the window's others).
   */
  addPeer(address: unknown): string {
    const m = typeof address === 'string' ? /^\s*\[?([^\]\s]+?)\]?:(\d{1,5})\s*$/.exec(address) : null
    const port = m ? Number(m[2]) : 0
    if (!m || port < 1 || port > 65535)
      throw badArgument('Give the address as host:port, e.g. 192.168.1.20:45123.')
    const host = m[1]!
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    this.node.connect(host, port).then(
      ({ name }) =>
        this.options.emit({ type: 'peer-added', address: where, ok: true, name, message: '' }, null),
      (err: unknown) =>
        this.options.emit(
          { type: 'peer-added', address: where, ok: false, name: null, message: connectFailure(err, where) },
          null,
        ),
    )
    return where
  }

  requestJoin(device: unknown, docId: string): null {
    if (typeof device !== 'string') throw badArgument('Not a device.')
    this.node.workspace.requestJoin(device, docId)
    return null
  }

  async joinWithInvite(code: unknown): Promise<string> {
    if (typeof code !== 'string') throw badArgument(NO_INVITE)
    const invite = readInvite(code)
    requireInviteKind(invite, 'doc', APP_JOIN)
    await this.node.joinWithInvite(invite)
    return invite.docId
  }

  joinRequests(): JoinRequestInfo[] {
    const ws = this.node.workspace
    return ws.pendingJoinRequests().map((r) => ({
      id: r.id,
      docId: r.docId,
      docTitle: ws.doc(r.docId)?.title ?? '',
      device: r.device,
      deviceId: deviceIdFor(r.device),
      name: r.name,
    }))
  }

  async answerJoin(requestId: unknown, accept: unknown, role: unknown): Promise<null> {
    if (typeof requestId !== 'string') throw badArgument('Not a join request.')
    if (accept === true) await this.node.workspace.approveJoin(requestId, requireRole(role))
    else this.node.workspace.denyJoin(requestId)
    this.options.emit({ type: 'join-answered', id: requestId }, null)
    return null
  }

  // ---- sharing and members -----------------------------------------------------------------------

  sharing(session: DocSession): SharingInfo {
    const ws = this.node.workspace
    const online = new Set(session.peers().map((p) => p.remoteKey))
    const creator = session.durable.members.root()
    const flagged = new Set(session.equivocators())
    const withholding = new Set(session.withholders())
    const members: MemberInfo[] = session
      .members()
      .filter((m) => ROLES.includes(m.record.role as DocRole))
      .map((m) => ({
        device: m.device,
        deviceId: deviceIdFor(m.device),
        name: m.device === ws.self ? ws.name : m.record.name,
        role: m.record.role as DocRole,
        online: m.device === ws.self || online.has(m.device),
        me: m.device === ws.self,
        creator: m.device === creator,
        flagged: flagged.has(m.device),
        withholding: withholding.has(m.device),
      }))
    const myRole = session.myRole
    return {
      docId: session.docId,
      sharedOnLan: ws.isSharedOnLan(session.docId),
      myRole: ROLES.includes(myRole as DocRole) ? (myRole as DocRole) : null,
      members,
      // Only an owner's invites can be redeemed, so only an owner has open ones.
      invites: ws.openInvites(session.docId),
    }
  }

  /** Tells the document's windows how it is shared now, and returns that. */
  private sharingChanged(session: DocSession): SharingInfo {
    const sharing = this.sharing(session)
    this.options.emit({ type: 'sharing', sharing }, session.docId)
    return sharing
  }

  async setSharedOnLan(session: DocSession, on: unknown): Promise<SharingInfo> {
    if (session.myRole !== 'owner')
      throw new WorkspaceError('NOT_ALLOWED', 'Only an owner can share a document.')
    await this.node.workspace.shareOnLan(session.docId, on === true)
    return this.sharingChanged(session)
  }

  /** `kind`: 'project' for a shared folder's project (its joiner is asked for a folder first). */
  async createInvite(session: DocSession, role: unknown, kind: InviteKind = 'doc'): Promise<InviteInfo> {
    const r = requireRole(role)
    if (r === 'owner')
      throw badArgument('Invite people as editors or viewers; make an owner from the members list.')
    const code = await this.node.workspace.createInvite(
      session.docId,
      r,
      this.node.addresses(),
      undefined,
      kind,
    )
    this.sharingChanged(session) // the open-invites list has it now
    return { code, link: `meshpad://join/${code}`, role: r, expires: decodeInvite(code).expires }
  }

  async revokeInvite(session: DocSession, inviteId: unknown): Promise<SharingInfo> {
    if (typeof inviteId !== 'string') throw badArgument('An invite ID is a string.')
    await this.node.workspace.revokeInvite(session.docId, inviteId)
    return this.sharingChanged(session)
  }

  async setRole(session: DocSession, device: unknown, role: unknown): Promise<SharingInfo> {
    const member = typeof device === 'string' ? session.member(device) : undefined
    if (!member || member.role === 'removed')
      throw badArgument('That device is not a member of this document.')
    if (session.myRole !== 'owner') throw new WorkspaceError('NOT_ALLOWED', 'Only an owner can change roles.')
    await session.setMember(device as string, requireRole(role), member.name)
    return this.sharing(session)
  }

  async removeMember(session: DocSession, device: unknown): Promise<SharingInfo> {
    if (typeof device !== 'string' || !session.member(device)) {
      throw badArgument('That device is not a member of this document.')
    }
    if (device === this.node.workspace.self) throw badArgument('You cannot remove yourself.')
    await session.removeMember(device)
    return this.sharing(session)
  }

  // ---- presence and authors ----------------------------------------------------------------------

  setPresence(session: DocSession, cursor: unknown): null {
    if (cursor === null) this.cursors.delete(session.docId)
    else {
      const checked = cursorOf({ cursor: cursor as JsonValue })
      if (!checked) throw badArgument('A cursor is {anchor, head}, each null or {replica, counter}.')
      this.cursors.set(session.docId, checked)
    }
    this.publish(session)
    return null
  }

  presence(session: DocSession): PresenceInfo[] {
    // A removed device hears no one's presence any more: what it holds is stale, not people here now.
    if (session.myRole === 'removed') return []
    const colors = this.colorsIn(session)
    return session.presences().map((p) => ({
      device: p.device,
      deviceId: deviceIdFor(p.device),
      name: (field(p.state, 'name') ?? p.name).slice(0, MAX_NAME),
      color: colors.get(p.device) ?? colorOf(p.device),
      cursor: cursorOf(p.state),
    }))
  }

  /**
   * The colours of the document's people now, this device's included: each one's chosen colour, or a
   * default that no one else present has (palette.ts). Every peer computes the same from the same
   * people; a colour that is not #rrggbb counts as not chosen.
   */
  private colorsIn(session: DocSession): Map<string, string> {
    const chosen = (state: JsonValue): string | null => {
      const color = field(state, 'color')?.toLowerCase()
      return color && COLOR.test(color) ? color : null
    }
    const colors = assignColors([
      { device: this.node.workspace.self, chosen: this.stored.color },
      ...session.presences().map((p) => ({ device: p.device, chosen: chosen(p.state) })),
    ])
    for (const [device, color] of colors) this.knownColors.set(device, color)
    return colors
  }

  /**
   * Who wrote with each replica. A person is named as they are known now (their presence, else their
   * member record), else as they were when they wrote, else by their device ID: never anonymously.
   * The replicas are those with an author record and those that wrote text: a file of a project has
   * no records (DocSession.registerAuthor), its replicas' devices are known from their seals.
   */
  authors(session: DocSession): Record<string, AuthorInfo> {
    const self = this.node.workspace.self
    const present = new Map(session.presences().map((p) => [p.device, field(p.state, 'name')]))
    const nameOf = (device: string, recorded: string): string =>
      (device === self ? this.node.workspace.name : null) ||
      present.get(device)?.slice(0, MAX_NAME) ||
      session.member(device)?.name ||
      recorded ||
      `Device ${deviceIdFor(device).slice(0, 4)}`
    const colors = this.colorsIn(session)
    const out: Record<string, AuthorInfo> = {}
    const replicas = new Set(Object.keys(session.textVersion()))
    for (const [key] of session.durable.props.entries()) {
      if (key.startsWith(AUTHOR_PREFIX)) replicas.add(key.slice(AUTHOR_PREFIX.length))
    }
    for (const replica of replicas) {
      const author = session.authorOf(replica)
      if (author) {
        const attested = session
          .attestedOf(replica)
          .map(({ from, to, by }) => ({ from, to, by: nameOf(by, '') }))
        out[replica] = {
          device: author.device,
          name: nameOf(author.device, author.name),
          color: colors.get(author.device) ?? this.knownColors.get(author.device) ?? colorOf(author.device),
          ...(attested.length > 0 ? { attested } : {}),
        }
      }
    }
    return out
  }

  private publish(session: DocSession): void {
    const cursor = this.cursors.get(session.docId) ?? null
    // The colour only if chosen: a default is each peer's to work out, so that defaults never collide.
    const color = this.stored.color
    session.setAwareness({ name: this.node.workspace.name, color, cursor: cursor as JsonValue })
  }

  private publishAll(): void {
    for (const docId of this.cursors.keys()) {
      const session = this.node.workspace.doc(docId)
      if (session) this.publish(session)
    }
  }

  // ---- properties --------------------------------------------------------------------------------

  /** The document's properties as people edit them (the author and restore records are internal). */
  props(session: DocSession): PropEntry[] {
    return session.durable.props
      .entries()
      .filter(([key]) => !internalKey(key))
      .map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) }))
      .sort((a, b) => a.key.localeCompare(b.key))
  }

  async setProp(session: DocSession, key: unknown, value: unknown): Promise<PropEntry[]> {
    if (typeof key !== 'string' || key.trim() === '' || key.length > MAX_PROP_KEY) {
      throw badArgument(`A property name is 1–${MAX_PROP_KEY} characters.`)
    }
    if (key.startsWith(AUTHOR_PREFIX))
      throw badArgument(`Names starting with "${AUTHOR_PREFIX}" are Meshpad's own.`)
    if (internalKey(key.trim())) throw badArgument(`"${key.trim()}" is Meshpad's own.`)
    if (typeof value !== 'string' || value.length > MAX_PROP_VALUE) {
      throw badArgument('A property value is text of at most 16 KB.')
    }
    // Properties travel whole in one sync reply: bounded so that they always fit one frame.
    if (!session.durable.props.has(key.trim()) && this.props(session).length >= MAX_PROPS) {
      throw badArgument(`A document has at most ${MAX_PROPS} properties: remove one first.`)
    }
    await session.setProp(key.trim(), value)
    return this.props(session)
  }

  async deleteProp(session: DocSession, key: unknown): Promise<PropEntry[]> {
    if (typeof key !== 'string' || internalKey(key)) throw badArgument('No such property.')
    await session.deleteProp(key)
    return this.props(session)
  }

  /** Keeps a restore's record with the document, for the people whose text it removed. */
  async noteRestore(session: DocSession, report: unknown): Promise<null> {
    const valid = readReport(report)
    if (!valid) throw badArgument('Not a restore report.')
    const ws = this.node.workspace
    await session.setProp(RESTORE_KEY, makeRecord(valid, ws.self, ws.name, Date.now()))
    return null
  }

  // ---- settings ----------------------------------------------------------------------------------

  settings(): Settings {
    return {
      displayName: this.node.workspace.name,
      color: this.stored.color ?? colorOf(this.node.workspace.self),
      deviceId: this.node.identity.deviceId,
      online: this.node.online,
      keepDeleted: this.stored.keepDeleted ?? DEFAULT_KEEP_DELETED,
    }
  }

  /** The retention setting, as each document's next compaction reads it (text-retention.ts). */
  private applyKeepDeleted(): void {
    const keep = this.stored.keepDeleted ?? DEFAULT_KEEP_DELETED
    this.node.workspace.keepDeleted = keep === 'all' ? Infinity : keep
  }

  async setSettings(change: unknown): Promise<Settings> {
    if (typeof change !== 'object' || change === null) throw badArgument('Nothing to change.')
    const c = change as Record<string, unknown>
    let { displayName, color } = this.stored
    let keepDeleted = this.stored.keepDeleted ?? null
    if (c['displayName'] !== undefined) {
      const name = typeof c['displayName'] === 'string' ? c['displayName'].trim() : ''
      if (!name || name.length > MAX_NAME) throw badArgument(`A display name is 1–${MAX_NAME} characters.`)
      displayName = name
    }
    if (c['color'] !== undefined) {
      if (typeof c['color'] !== 'string' || !COLOR.test(c['color'].toLowerCase())) {
        throw badArgument('A colour is #rrggbb.')
      }
      color = c['color'].toLowerCase()
    }
    if (c['keepDeleted'] !== undefined) {
      const keep = keepDeletedOf(c['keepDeleted'])
      if (keep === undefined)
        throw badArgument(
          `Deleted text is kept up to 0–${MAX_KEEP_DELETED} times the document's length, or all of it.`,
        )
      keepDeleted = keep
    }
    if (c['online'] !== undefined) this.node.setOnline(c['online'] === true)
    const s = this.stored
    if (displayName !== s.displayName || color !== s.color || keepDeleted !== (s.keepDeleted ?? null)) {
      await this.settingsFile.write({ displayName, color, keepDeleted })
      this.stored = { displayName, color, keepDeleted }
      if (displayName) this.node.workspace.name = displayName
      this.applyKeepDeleted()
    }
    const settings = this.settings()
    this.options.emit({ type: 'settings', settings }, null)
    this.publishAll()
    return settings
  }
}
