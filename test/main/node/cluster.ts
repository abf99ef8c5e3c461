/**
 * Test support: whole Meshpad nodes in one process, each with its own data dir, secrets and memory
 * store, connected by in-memory links that run the same protocol sessions as TCP + Noise.
 */
import { randomBytes } from 'node:crypto'
import { afterEach } from 'vitest'
import SecretStream from '@hyperswarm/secret-stream'
import { signerFor } from '../../../src/main/node/crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConnectedPair } from '../../../src/shared/sync/memory-pair'
import type { PeerConnection } from '../../../src/shared/sync/peer-connection'
import { toHex } from '../../../src/shared/sync/hex'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'
import type { DocSecrets, DocSession } from '../../../src/main/node/doc-session'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { SecretStore } from '../../../src/main/node/secrets'
import { Workspace } from '../../../src/main/node/workspace'
import type { Sign } from '../../../src/shared/members/member-op'

export interface TestNode {
  readonly name: string
  readonly key: Uint8Array
  readonly self: string
  /** Signs as this device (member ops, seals). */
  readonly sign: Sign
  readonly ws: Workspace
  readonly dir: string
  readonly logs: string[]
}

const dirs: string[] = []

/** What a node holds when it starts: documents on its "disk" (`backing`) and their keys. */
export interface NodeState {
  readonly backing?: MemoryBacking
  readonly docs?: Readonly<Record<string, DocSecrets>>
  /** The device's key pair (default: a new one). */
  readonly keyPair?: { publicKey: Uint8Array; secretKey: Uint8Array }
  /** Replicas of a document one device may bind (default: the product's). */
  readonly replicasPerDevice?: number
  /** How long a connected member may leave a seal request unanswered (default: the product's). */
  readonly sealWaitMs?: number
  /** File documents one project opens at most (default: the product's). */
  readonly maxFilesPerProject?: number
  /** How long a file document stays open idle (default: the product's). */
  readonly fileIdleMs?: number
  /** The data dir (its secrets) of a node closed before: this one is its restart. */
  readonly dir?: string
}

export async function makeNode(name: string, now?: () => number, state: NodeState = {}): Promise<TestNode> {
  const dir = state.dir ?? mkdtempSync(join(tmpdir(), `meshpad-node-${name}-`))
  dirs.push(dir)
  const keyPair = state.keyPair ?? SecretStream.keyPair()
  const key = new Uint8Array(keyPair.publicKey)
  const logs: string[] = []
  const secrets = await SecretStore.open(dir)
  for (const [docId, doc] of Object.entries(state.docs ?? {})) await secrets.putDoc(docId, doc)
  const sign = signerFor(keyPair)
  const ws = new Workspace({
    deviceKey: key,
    sign,
    name,
    appVersion: 'test',
    store: new MemoryStore(state.backing),
    secrets,
    antiEntropyMs: 0,
    log: (m) => logs.push(m),
    ...(state.replicasPerDevice ? { replicasPerDevice: state.replicasPerDevice } : {}),
    ...(state.sealWaitMs ? { sealWaitMs: state.sealWaitMs } : {}),
    ...(state.maxFilesPerProject ? { maxFilesPerProject: state.maxFilesPerProject } : {}),
    ...(state.fileIdleMs !== undefined ? { fileIdleMs: state.fileIdleMs } : {}),
    ...(now ? { now } : {}),
  })
  return { name, key, self: toHex(key), sign, ws, dir, logs }
}

/** Connects two nodes; returns both ends (a's end first). */
export function connect(a: TestNode, b: TestNode): [PeerConnection, PeerConnection] {
  const [ab, ba] = createConnectedPair({
    keys: [a.key, b.key],
    handshakeHash: new Uint8Array(randomBytes(64)),
  })
  a.ws.attach(ab)
  b.ws.attach(ba)
  return [ab, ba]
}

export async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/**
 * `node(name)`: a test node cleaned up after the test that made it. Call at a test file's top level
 * (it registers the afterEach).
 */
export function nodesOfEachTest(): (...args: Parameters<typeof makeNode>) => Promise<TestNode> {
  const made: TestNode[] = []
  afterEach(async () => {
    await cleanup(made.splice(0))
  })
  return async (...args) => {
    const n = await makeNode(...args)
    made.push(n)
    return n
  }
}

export async function cleanup(nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.ws.close()))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** Connects `other` to `owner` and has it join `docId` with an editor invite; its session once in step. */
export async function joinByInvite(owner: TestNode, other: TestNode, docId: string): Promise<DocSession> {
  connect(owner, other)
  await until('hello', () => other.ws.session(owner.self)?.ready === true)
  const code = await owner.ws.createInvite(docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
  other.ws.redeemWith(other.ws.session(owner.self)!, decodeInvite(code))
  await until(`${other.name} joined`, () => other.ws.doc(docId)?.text === owner.ws.doc(docId)?.text)
  return other.ws.doc(docId)!
}
