/**
 * PeerNode: a whole Meshpad node on a data dir — device identity, document store, keys, the TCP +
 * Noise transport, the dialer that keeps wanted peers connected, and the Workspace on top. The CLI
 * and the Electron shell both start one of these; tests start several.
 */
import { isIPv4 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import type { PeerConnection } from '../../shared/sync/peer-connection'
import { toHex } from '../../shared/sync/hex'
import type { DiscoveryOptions } from '../discovery'
import { loadOrCreateDeviceKey, type DeviceIdentity } from '../net/device-key'
import { withFaults, type FaultOptions } from '../net/fault-injection'
import type { NetLog } from '../net/log'
import { Reconnector, targetKey } from '../net/reconnect'
import { Transport } from '../net/transport'
import { FileStore } from '../storage/file-store'
import type { StorageFs } from '../storage/fs-layer'
import { LanDiscovery } from './lan-discovery'
import { KnownPeers } from './known-peers'
import { signerFor } from './crypto'
import { SecretStore } from './secrets'
import { resumableReady } from './stream-hash'
import type { InviteCode } from './invite-code'
import { Workspace, WorkspaceError } from './workspace'

export interface PeerNodeOptions {
  readonly dataDir: string
  readonly name: string
  /** TCP port to listen on; 0 (default) picks a free one. */
  readonly port?: number
  /** Address to listen on (default 0.0.0.0). */
  readonly host?: string
  /** Simulated network faults on everything this node sends (tests, demos). */
  readonly faults?: FaultOptions
  readonly antiEntropyMs?: number
  /** How long a connected member may leave a seal request unanswered before it is flagged (tests lower it). */
  readonly sealWaitMs?: number
  /** How long a file document of a project stays open idle (Workspace FILE_IDLE_MS; tests lower it). */
  readonly fileIdleMs?: number
  /** Deleted text each document keeps, times its length (default DEFAULT_KEEP_DELETED; Infinity: all). */
  readonly keepDeleted?: number
  readonly appVersion?: string
  readonly log?: (message: string) => void
  /**
   * LAN discovery over mDNS: advertise this node and dial the Meshpad peers found (lan-discovery.ts).
   * Off unless given: `true` for the defaults, or options (tests pin it to loopback and another port).
   */
  readonly discovery?: boolean | DiscoveryOptions
  /** The filesystem the document store uses (tests: a slow or failing disk); default the real one. */
  readonly storageFs?: StorageFs
}

/** Whether connections are let through (false while working offline); shared with the accept handler. */
interface Gate {
  online: boolean
}

export class PeerNode {
  private closed = false
  /** Addresses added by hand: discovery never stops dialing those. */
  private readonly manual = new Set<string>()
  /** LAN discovery, when enabled. */
  readonly lan: LanDiscovery | null

  private constructor(
    /** Resolves once every document held at start is open (see `start`); never rejects. */
    readonly docsOpened: Promise<void>,
    private readonly opening: { stopped: boolean },
    readonly identity: DeviceIdentity,
    readonly transport: Transport,
    readonly dialer: Reconnector,
    readonly workspace: Workspace,
    readonly port: number,
    private readonly host: string,
    private readonly store: FileStore,
    private readonly known: KnownPeers,
    discovery: DiscoveryOptions | null,
    private readonly gate: Gate,
    readonly log: (message: string) => void,
  ) {
    this.lan = discovery
      ? new LanDiscovery({
          workspace,
          dialer,
          isManual: (h, p) => this.manual.has(`${h}:${p}`),
          discovery,
          log,
        })
      : null
    this.lan?.start(port)
  }

  static async start(options: PeerNodeOptions): Promise<PeerNode> {
    const log = options.log ?? (() => undefined)
    const netLog: NetLog = (level, message) => {
      if (level !== 'debug') log(message)
    }
    const identity = await loadOrCreateDeviceKey(options.dataDir, { log: netLog })
    const store = new FileStore({
      dir: join(options.dataDir, 'docs'),
      ...(options.storageFs ? { fs: options.storageFs } : {}),
    })
    const secrets = await SecretStore.open(options.dataDir)
    // Documents take up their stream checkpoints as they open, with hash-wasm (compiled since this
    // module was imported: ~15 ms, done by now but on the first start of a machine).
    await resumableReady
    const workspace = new Workspace({
      deviceKey: identity.publicKey,
      sign: signerFor(identity),
      name: options.name,
      appVersion: options.appVersion ?? '0.1.0',
      store,
      secrets,
      ...(options.antiEntropyMs !== undefined ? { antiEntropyMs: options.antiEntropyMs } : {}),
      ...(options.sealWaitMs !== undefined ? { sealWaitMs: options.sealWaitMs } : {}),
      ...(options.fileIdleMs !== undefined ? { fileIdleMs: options.fileIdleMs } : {}),
      ...(options.keepDeleted !== undefined ? { keepDeleted: options.keepDeleted } : {}),
      log,
    })
    const transport = new Transport({ keyPair: identity, log: netLog })
    const faults = options.faults
    const gate: Gate = { online: true }
    let docsOpened: Promise<void> = Promise.resolve()
    transport.onConnection((connection: PeerConnection) => {
      // Peers wait until every document is open, so none is told that a document it asks for is
      // unknown. (A connection keeps the frames that arrive meanwhile.)
      void docsOpened
        .then(() => {
          // Working offline: a peer that dials in is turned away (its reconnector backs off).
          if (!gate.online) return connection.close('this device is working offline')
          workspace.attach(faults ? withFaults(connection, faults) : connection)
        })
        .catch((err: unknown) => {
          // A peer that dialled in as the node was closing: attach has closed its connection.
          if (err instanceof WorkspaceError && err.code === 'CLOSED') return
          log(`incoming connection not taken: ${String(err)}`)
          connection.close('internal error')
        })
    })
    let port: number
    try {
      port = await transport.listen({ port: options.port ?? 0, host: options.host ?? '0.0.0.0' })
    } catch (err) {
      await workspace.close()
      await store.close()
      throw err
    }
    const dialer = new Reconnector(transport, { log: netLog })
    // Every document this device holds is reopened in the background, one after another, so that the
    // prompt or the window comes up at once however many documents there are; the one a person opens
    // meanwhile goes ahead of the queue (Workspace.openDoc shares an open already under way).
    const opening = { stopped: false }
    docsOpened = (async () => {
      for (const docId of secrets.docIds()) {
        if (opening.stopped) return
        await workspace.openDoc(docId).catch((err: unknown) => log(`could not open ${docId}: ${String(err)}`))
      }
    })()
    const host = options.host ?? '0.0.0.0'
    // A node that listens on one address advertises only there (peers could reach nothing else).
    const pinned = host !== '0.0.0.0' && isIPv4(host) ? { interface: host } : {}
    const discovery = options.discovery
      ? { ...pinned, ...(options.discovery === true ? {} : options.discovery) }
      : null
    const known = await KnownPeers.open(options.dataDir, log)
    const node = new PeerNode(
      docsOpened,
      opening,
      identity,
      transport,
      dialer,
      workspace,
      port,
      host,
      store,
      known,
      discovery,
      gate,
      log,
    )
    for (const a of known.list()) node.want(a.host, a.port)
    return node
  }

  /** Keeps host:port connected (retrying with backoff), now and after restarts. */
  add(host: string, port: number): void {
    this.want(host, port)
    this.known
      .remember(host, port)
      .catch((err: unknown) => this.log(`could not remember ${host}:${port}: ${String(err)}`))
  }

  /**
   * Connects to host:port now (Add device by address) and resolves with the device once it has said
   * hello, or rejects with why not (nothing listening, not a Meshpad peer, no answer within the
   * handshake deadline, this device itself, turned away). An address not wanted before is kept
   * (redialed, remembered across restarts) only once it answered, so a mistyped one is not dialed
   * forever.
   */
  async connect(host: string, port: number): Promise<{ device: string; name: string }> {
    if (!this.gate.online) {
      throw new WorkspaceError(
        'NO_PEER',
        'This device is working offline: turn off Work offline in Settings.',
      )
    }
    const key = targetKey(host, port)
    const known = this.dialer.status().find((t) => targetKey(t.host, t.port) === key)
    let connection: PeerConnection
    try {
      connection = await new Promise<PeerConnection>((resolve, reject) => {
        const stop = this.dialer.onEvent((e) => {
          if (e.target !== key || (e.type !== 'connected' && e.type !== 'failed')) return
          stop()
          if (e.type === 'connected') resolve(e.connection)
          else reject(e.error)
        })
        if (known?.connection && !known.connection.closed) {
          stop()
          resolve(known.connection)
        } else if (known === undefined) this.want(host, port)
        else if (known.state === 'waiting') this.dialer.reconnectNow()
        // else dialing already: its outcome is the answer
      })
    } catch (err) {
      if (known === undefined) {
        this.dialer.unwant(host, port)
        this.manual.delete(`${host}:${port}`)
      }
      throw err
    }
    const device = toHex(connection.remoteKey)
    await this.helloFrom(device, connection, key)
    if (known === undefined) this.add(host, port) // remembered now that it answered
    return { device, name: this.workspace.session(device)?.remoteName ?? '' }
  }

  /** Resolves once the device's session said hello; rejects if the connection closes first. */
  private helloFrom(device: string, connection: PeerConnection, where: string): Promise<void> {
    const ws = this.workspace
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!ws.session(device)?.ready) return
        ws.off('peers', check)
        stopClose()
        resolve()
      }
      const stopClose = connection.onClose((info) => {
        ws.off('peers', check)
        reject(new WorkspaceError('NO_PEER', `${where} closed the connection: ${info.reason}.`))
      })
      ws.on('peers', check)
      check()
    })
  }

  private want(host: string, port: number): void {
    this.dialer.want(host, port)
    this.manual.add(`${host}:${port}`)
  }

  /** False while working offline. */
  get online(): boolean {
    return this.gate.online
  }

  /**
   * Work offline (false) or back online (true). Offline: every connection is closed, nothing is
   * dialed and peers that dial in are turned away; edits keep being saved locally. Online again: every
   * known peer is dialed at once and the documents resync.
   */
  setOnline(online: boolean): void {
    if (this.gate.online === online) return
    this.gate.online = online
    if (online) {
      this.dialer.resume()
      return
    }
    this.dialer.pause()
    for (const peer of this.workspace.peers()) this.workspace.disconnect(peer.device)
  }

  /**
   * Redeems an invite: connects to the inviter (at the invite's addresses, unless already connected)
   * and asks to join. The answer comes as the workspace's 'join-result' event.
   */
  async joinWithInvite(invite: InviteCode, timeoutMs = 15_000): Promise<void> {
    const ws = this.workspace
    if (!ws.session(invite.inviterKey)?.ready) {
      if (!this.gate.online) {
        throw new WorkspaceError('NO_PEER', 'This device is working offline: go online to join.')
      }
      if (invite.addresses.length === 0) {
        throw new WorkspaceError(
          'NO_PEER',
          'The invite carries no address: add the inviter by address first.',
        )
      }
      for (const a of invite.addresses) this.add(a.host, a.port)
      const end = Date.now() + timeoutMs
      while (!ws.session(invite.inviterKey)?.ready) {
        if (this.closed) throw new WorkspaceError('NO_PEER', 'The node closed.')
        if (Date.now() > end) {
          throw new WorkspaceError(
            'NO_PEER',
            'Could not reach the device that made the invite: check that it is on and on this network.',
          )
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    ws.redeemWith(ws.session(invite.inviterKey)!, invite)
  }

  /** Redials every wanted peer now and runs an anti-entropy round with every connected one. */
  reconnect(): void {
    this.dialer.reconnectNow()
    this.workspace.syncAll()
  }

  /** Where peers can reach this node: the address it listens on, or all its non-internal IPv4 ones. */
  addresses(): { host: string; port: number }[] {
    if (this.host !== '0.0.0.0') return [{ host: this.host, port: this.port }]
    const hosts: string[] = []
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) hosts.push(a.address)
    }
    if (hosts.length === 0) hosts.push('127.0.0.1')
    return hosts.map((host) => ({ host, port: this.port }))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.opening.stopped = true
    await this.lan?.close() // first: the goodbye goes out while everything else still runs
    this.dialer.close()
    await this.docsOpened // at most the one document being opened now
    await this.workspace.close()
    await this.transport.close()
    await this.store.close()
    await this.known.close()
  }
}
