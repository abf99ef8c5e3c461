/**
 * MemberLog and the authority rules it resolves with (src/shared/members): one focused case per rule,
 * each built so that it fails if the rule is broken. Ops an honest `change()` would refuse to make
 * (privilege escalation, back-dating, equivocation) are forged here with `signMemberOp`, as a
 * Byzantine device would.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { memberCrypto } from '../../../src/main/node/crypto'
import { CrdtDecodeError } from '../../../src/shared/crdt/types'
import {
  MAX_OPS_PER_AUTHOR,
  MAX_PENDING,
  MemberLog,
  type MemberRecord,
} from '../../../src/shared/members/member-log'
import {
  decodeMemberOps,
  docIdFor,
  encodeMemberOps,
  signMemberOp,
  type MemberOp,
  type MemberRole,
} from '../../../src/shared/members/member-op'
import { testDevice, type TestDevice } from '../../support/devices'

let clock = 1_000
const now = (): number => ++clock

/** A document rooted at `creator`, with helpers to make, forge and move its member ops. */
class Doc {
  readonly nonce = new Uint8Array(randomBytes(16))
  readonly docId: string

  constructor(readonly creator: TestDevice) {
    this.docId = docIdFor(memberCrypto, creator.publicKey, this.nonce)
  }

  /** A new document: the creator's replica holding its genesis. */
  static create(): { doc: Doc; root: TestDevice; rootLog: MemberLog; genesis: MemberOp } {
    const root = testDevice()
    const doc = new Doc(root)
    const rootLog = doc.replica()
    const genesis = doc.decode(
      rootLog.change(root.key, root.sign, {
        target: root.key,
        role: 'owner',
        name: 'root',
        time: now(),
        genesisNonce: doc.nonce,
      }),
    )[0]!
    return { doc, root, rootLog, genesis }
  }

  replica(): MemberLog {
    return new MemberLog(this.docId, memberCrypto)
  }

  /** A replica that has everything `from` has. */
  copyOf(from: MemberLog): MemberLog {
    const log = this.replica()
    log.applyRemote(from.changesSince({}))
    return log
  }

  decode(batch: Uint8Array): MemberOp[] {
    return decodeMemberOps(memberCrypto, this.docId, batch)
  }

  /** The stored ops of a replica, parents first. */
  ops(log: MemberLog): MemberOp[] {
    return this.decode(log.changesSince({}))
  }

  /** Stored ops no stored op names as a parent. */
  heads(log: MemberLog): string[] {
    const ops = this.ops(log)
    const named = new Set(ops.flatMap((op) => op.parents))
    return ops.filter((op) => !named.has(op.id)).map((op) => op.id)
  }

  /** An honest change through `change()`: the op it made. */
  change(log: MemberLog, by: TestDevice, target: string, role: MemberRole, name = 'm'): MemberOp {
    return this.decode(log.change(by.key, by.sign, { target, role, name, time: now() }))[0]!
  }

  /** An op signed by `signer` in `author`'s name, with whatever fields it chooses. */
  forge(
    signer: TestDevice,
    fields: {
      author?: string
      seq: number
      parents: string[]
      target: string
      role: MemberRole
      name?: string
    },
  ): MemberOp {
    return signMemberOp(
      memberCrypto,
      this.docId,
      {
        author: fields.author ?? signer.key,
        seq: fields.seq,
        kind: 'change',
        parents: fields.parents,
        target: fields.target,
        role: fields.role,
        name: fields.name ?? 'forged',
        time: now(),
      },
      signer.sign,
    )
  }

  /**
   * The op `by` would sign next on `log` if `change()` let it: its next number, and the heads of `log`
   * plus its own last op as parents.
   */
  forgeNext(log: MemberLog, by: TestDevice, target: string, role: MemberRole): MemberOp {
    const seq = (log.version()[by.key] ?? 0) + 1
    const own = this.ops(log).filter((op) => op.author === by.key && op.seq === seq - 1)[0]?.id
    const parents = [...new Set([...(own ? [own] : []), ...this.heads(log)])]
    return this.forge(by, { seq, parents, target, role })
  }
}

const send = (log: MemberLog, ...ops: MemberOp[]): string[] => log.applyRemote(encodeMemberOps(ops))
const sync = (from: MemberLog, to: MemberLog): string[] => to.applyRemote(from.changesSince(to.version()))

/** Every replica sends every other what it lacks, until nothing moves. */
function syncAll(...logs: MemberLog[]): void {
  for (let round = 0; round < 6; round++) {
    let moved = false
    for (const from of logs) for (const to of logs) if (from !== to && sync(from, to).length > 0) moved = true
    const sizes = logs.map((l) => l.size)
    if (!moved && sizes.every((s) => s === sizes[0])) return
  }
}

const roleOf = (log: MemberLog, device: TestDevice): MemberRole | undefined => log.get(device.key)?.role

function listOf(log: MemberLog): [string, MemberRecord][] {
  return log.entries().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** Every replica derives the same list, root and equivocators. */
function expectSameList(...logs: MemberLog[]): void {
  const first = logs[0]!
  for (const log of logs.slice(1)) {
    expect(listOf(log)).toEqual(listOf(first))
    expect(log.root()).toBe(first.root())
    expect(log.equivocators().sort()).toEqual(first.equivocators().sort())
  }
}

/** Every order in which `items` can be delivered. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  )
}

describe('MemberLog: genesis and signatures', () => {
  it('refuses a genesis whose key and nonce do not derive the document ID', () => {
    const creator = testDevice()
    const mallory = testDevice()
    const doc = new Doc(creator)
    const genesis = (signer: TestDevice, nonce: Uint8Array): MemberOp =>
      signMemberOp(
        memberCrypto,
        doc.docId,
        {
          author: signer.key,
          seq: 1,
          kind: 'genesis',
          nonce,
          parents: [],
          target: signer.key,
          role: 'owner',
          name: 'g',
          time: now(),
        },
        signer.sign,
      )
    const log = doc.replica()
    // Mallory's key with the creator's nonce, Mallory's own nonce, and the creator's key with a wrong nonce.
    send(log, genesis(mallory, doc.nonce))
    send(log, genesis(mallory, new Uint8Array(randomBytes(16))))
    send(log, genesis(creator, new Uint8Array(randomBytes(16))))
    expect(log.size).toBe(0)
    expect(log.root()).toBeUndefined()
    expect(log.entries()).toEqual([])
    // The one that derives the ID is taken, even after the others.
    send(log, genesis(creator, doc.nonce))
    expect(log.root()).toBe(creator.key)
    expect(roleOf(log, creator)).toBe('owner')
    expect(log.size).toBe(1)
  })

  it('a second genesis cannot replace the root', () => {
    const { doc, root, rootLog } = Doc.create()
    const mallory = testDevice()
    const editor = testDevice()
    doc.change(rootLog, root, editor.key, 'editor')
    // Mallory roots its own copy: its nonce cannot derive this document's ID, so `change` makes a
    // legacy genesis and pins Mallory locally, as for a document made before signed members.
    const malloryLog = doc.replica()
    const rival = malloryLog.change(mallory.key, mallory.sign, {
      target: mallory.key,
      role: 'owner',
      name: 'mallory',
      time: now(),
      genesisNonce: new Uint8Array(randomBytes(16)),
    })
    expect(doc.decode(rival)[0]!.kind).toBe('legacy-genesis')
    const rivalGenesis = signMemberOp(
      memberCrypto,
      doc.docId,
      {
        author: mallory.key,
        seq: 1,
        kind: 'genesis',
        nonce: new Uint8Array(randomBytes(16)),
        parents: [],
        target: mallory.key,
        role: 'owner',
        name: 'mallory',
        time: now(),
      },
      mallory.sign,
    )
    const observer = doc.replica()
    // The rivals first (nothing here yet), then the real history, then the rivals again.
    observer.applyRemote(rival)
    send(observer, rivalGenesis)
    expect(observer.size).toBe(0)
    sync(rootLog, observer)
    for (const log of [rootLog, observer]) {
      log.applyRemote(rival)
      send(log, rivalGenesis)
      expect(log.root()).toBe(root.key)
      expect(log.get(mallory.key)).toBeUndefined()
      expect(roleOf(log, editor)).toBe('editor')
      expect(log.size).toBe(2)
    }
    // Not even the root can sign a second genesis for the same document: it would be a fork of its
    // first op, and the first still roots the document.
    const again = signMemberOp(
      memberCrypto,
      doc.docId,
      {
        author: root.key,
        seq: 1,
        kind: 'genesis',
        nonce: doc.nonce,
        parents: [],
        target: root.key,
        role: 'owner',
        name: 'again',
        time: now(),
      },
      root.sign,
    )
    send(observer, again)
    expect(observer.root()).toBe(root.key)
    expect(roleOf(observer, root)).toBe('owner')
  })

  it('refuses an op signed by another key than its author, and the rest of its batch', () => {
    const { doc, root, rootLog } = Doc.create()
    const mallory = testDevice()
    const editor = testDevice()
    doc.change(rootLog, root, mallory.key, 'viewer')
    const observer = doc.copyOf(rootLog)
    // In the root's name, signed with Mallory's key.
    const forged = doc.forge(mallory, {
      author: root.key,
      seq: 3,
      parents: doc.heads(rootLog),
      target: mallory.key,
      role: 'owner',
    })
    const honest = doc.forgeNext(rootLog, root, editor.key, 'editor')
    for (const log of [rootLog, observer]) {
      const before = listOf(log)
      const size = log.size
      expect(() => send(log, forged)).toThrow(CrdtDecodeError)
      expect(() => send(log, honest, forged)).toThrow(CrdtDecodeError)
      expect(log.size).toBe(size)
      expect(log.pendingCount()).toBe(0)
      expect(listOf(log)).toEqual(before)
      expect(roleOf(log, mallory)).toBe('viewer')
    }
  })

  it('refuses a tampered op: any byte of what was signed changed', () => {
    const { doc, root, rootLog } = Doc.create()
    const editor = testDevice()
    const op = doc.change(rootLog, root, editor.key, 'viewer', 'Alice')
    const fresh = doc.replica()
    const name = op.payload.findIndex(
      (_, i) => String.fromCharCode(...op.payload.subarray(i, i + 5)) === 'Alice',
    )
    expect(name).toBeGreaterThan(0)
    const tampered = (at: number, value: number): Uint8Array => {
      const payload = op.payload.slice()
      payload[at] = value
      return encodeMemberOps([{ ...op, payload }])
    }
    // The name (Alice → Blice), the role (viewer → owner: the byte before the name's length), the time.
    const batches = [
      tampered(name, 0x42),
      tampered(name - 2, 3),
      tampered(op.payload.length - 1, op.payload.at(-1)! ^ 1),
    ]
    // A replica with the genesis alone, that has not seen the change yet.
    fresh.applyRemote(encodeMemberOps(doc.ops(rootLog).slice(0, 1)))
    for (const batch of batches) expect(() => fresh.applyRemote(batch)).toThrow(CrdtDecodeError)
    expect(fresh.get(editor.key)).toBeUndefined()
    expect(fresh.size).toBe(1)
    // The untouched op still goes in.
    send(fresh, op)
    expect(roleOf(fresh, editor)).toBe('viewer')
  })
})

describe('MemberLog: authority', () => {
  it('an editor cannot make itself owner or remove the owner, on any peer', () => {
    const { doc, root, rootLog } = Doc.create()
    const owner = testDevice()
    const editor = testDevice()
    const viewer = testDevice()
    doc.change(rootLog, root, owner.key, 'owner')
    doc.change(rootLog, root, editor.key, 'editor')
    doc.change(rootLog, root, viewer.key, 'viewer')
    const ownerLog = doc.copyOf(rootLog)
    const editorLog = doc.copyOf(rootLog)
    const observer = doc.copyOf(rootLog)

    expect(() => doc.change(editorLog, editor, editor.key, 'owner')).toThrow(RangeError)
    expect(() => doc.change(editorLog, editor, root.key, 'removed')).toThrow(RangeError)
    expect(() => doc.change(editorLog, editor, owner.key, 'removed')).toThrow(RangeError)
    expect(() => doc.change(editorLog, viewer, viewer.key, 'editor')).toThrow(RangeError)
    expect(editorLog.size).toBe(4)

    // Forged anyway, as a chain: self-promotion, then ops that would need it.
    const promote = doc.forgeNext(editorLog, editor, editor.key, 'owner')
    send(editorLog, promote)
    const removeRoot = doc.forgeNext(editorLog, editor, root.key, 'removed')
    send(editorLog, removeRoot)
    const removeOwner = doc.forgeNext(editorLog, editor, owner.key, 'removed')
    send(editorLog, removeOwner)
    const promoteViewer = doc.forgeNext(editorLog, viewer, viewer.key, 'owner')
    send(editorLog, promoteViewer)
    const forged = [promote, removeRoot, removeOwner, promoteViewer]
    syncAll(rootLog, ownerLog, editorLog, observer)
    for (const log of [rootLog, ownerLog, editorLog, observer]) {
      // Stored as evidence or refused outright, but none counts.
      for (const op of forged) expect(log.isValid(op.id)).toBe(false)
      expect(roleOf(log, editor)).toBe('editor')
      expect(roleOf(log, viewer)).toBe('viewer')
      expect(roleOf(log, root)).toBe('owner')
      expect(roleOf(log, owner)).toBe('owner')
    }
    // And the real owners still can act.
    doc.change(ownerLog, owner, editor.key, 'viewer')
    expect(roleOf(ownerLog, editor)).toBe('viewer')
  })

  it('the root cannot be demoted, by any owner or by itself', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const b = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    doc.change(rootLog, root, b.key, 'owner')
    const aLog = doc.copyOf(rootLog)
    const bLog = doc.copyOf(rootLog)
    for (const role of ['removed', 'viewer', 'editor'] as const) {
      expect(() => doc.change(aLog, a, root.key, role)).toThrow(RangeError)
      expect(() => doc.change(bLog, b, root.key, role)).toThrow(RangeError)
      expect(() => doc.change(rootLog, root, root.key, role)).toThrow(RangeError)
    }
    const forged = [
      doc.forgeNext(aLog, a, root.key, 'removed'),
      doc.forgeNext(bLog, b, root.key, 'viewer'),
      doc.forgeNext(rootLog, root, root.key, 'removed'),
    ]
    for (const log of [rootLog, aLog, bLog]) {
      for (const op of forged) send(log, op)
      for (const op of forged) expect(log.isValid(op.id)).toBe(false)
      expect(roleOf(log, root)).toBe('owner')
      expect(log.root()).toBe(root.key)
    }
    syncAll(rootLog, aLog, bLog)
    expectSameList(rootLog, aLog, bLog)
    expect(roleOf(aLog, root)).toBe('owner')
  })

  it('two owners removing each other concurrently: the senior one’s removal counts, in every order', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const b = testDevice()
    doc.change(rootLog, root, a.key, 'owner') // A first: A ranks above B
    doc.change(rootLog, root, b.key, 'owner')
    const aLog = doc.copyOf(rootLog)
    const bLog = doc.copyOf(rootLog)
    // B may not remove its senior: an honest node will not even make the op.
    expect(() => doc.change(bLog, b, a.key, 'removed')).toThrow(RangeError)
    const aRemovesB = doc.change(aLog, a, b.key, 'removed')
    const bRemovesA = doc.forgeNext(bLog, b, a.key, 'removed')
    send(bLog, bRemovesA)
    for (const order of permutations([aRemovesB, bRemovesA])) {
      for (const together of [false, true]) {
        const replicas = [doc.copyOf(rootLog), doc.copyOf(rootLog)]
        for (const log of replicas) {
          if (together) send(log, ...order)
          else for (const op of order) send(log, op)
        }
        for (const log of replicas) {
          expect(log.isValid(aRemovesB.id)).toBe(true)
          expect(log.isValid(bRemovesA.id)).toBe(false)
          expect(roleOf(log, a)).toBe('owner')
          expect(roleOf(log, b)).toBe('removed')
        }
      }
    }
    syncAll(rootLog, aLog, bLog)
    for (const log of [rootLog, aLog, bLog]) {
      expect(roleOf(log, a)).toBe('owner')
      expect(roleOf(log, b)).toBe('removed')
    }
    expectSameList(rootLog, aLog, bLog)
  })

  it('a grant concurrent with the granter’s removal is void, and so is what rested on it', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const c = testDevice()
    const d = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    const aLog = doc.copyOf(rootLog)
    const cLog = doc.copyOf(rootLog)
    const removal = doc.change(rootLog, root, a.key, 'removed')
    // Concurrently, A makes C owner, and C (who only sees A's side) makes D an editor.
    const grantC = doc.change(aLog, a, c.key, 'owner')
    sync(aLog, cLog)
    const grantD = doc.change(cLog, c, d.key, 'editor')
    expect(roleOf(cLog, d)).toBe('editor')
    const observer = doc.replica()
    syncAll(rootLog, aLog, cLog, observer)
    for (const log of [rootLog, aLog, cLog, observer]) {
      expect(log.isValid(removal.id)).toBe(true)
      expect(log.isValid(grantC.id)).toBe(false)
      expect(log.isValid(grantD.id)).toBe(false)
      expect(roleOf(log, a)).toBe('removed')
      expect(log.get(c.key)).toBeUndefined()
      expect(log.get(d.key)).toBeUndefined()
    }
    expectSameList(rootLog, aLog, cLog, observer)
    expect(() => doc.change(cLog, c, d.key, 'viewer')).toThrow(RangeError)
  })

  it('a removed owner’s back-dated op does not count; what it did before its removal still does', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const x = testDevice()
    const m = testDevice()
    const grantA = doc.change(rootLog, root, a.key, 'owner')
    const aLog = doc.copyOf(rootLog)
    const before = doc.change(aLog, a, x.key, 'editor') // A's seq 1, seen by the root before it acts
    sync(aLog, rootLog)
    doc.change(rootLog, root, a.key, 'removed')
    sync(rootLog, aLog)
    expect(roleOf(aLog, a)).toBe('removed')
    expect(() => doc.change(aLog, a, m.key, 'owner')).toThrow(RangeError)
    // A knows it was removed and signs its next op naming only what it had before the removal.
    const backDated = doc.forge(a, { seq: 2, parents: [before.id, grantA.id], target: m.key, role: 'owner' })
    const backDated2 = doc.forge(a, { seq: 3, parents: [backDated.id], target: x.key, role: 'owner' })
    const observer = doc.replica()
    for (const log of [rootLog, aLog, observer]) {
      if (log === observer) sync(rootLog, observer)
      send(log, backDated, backDated2)
      expect(log.isValid(before.id)).toBe(true)
      expect(log.isValid(backDated.id)).toBe(false)
      expect(log.isValid(backDated2.id)).toBe(false)
      expect(log.get(m.key)).toBeUndefined()
      expect(roleOf(log, x)).toBe('editor')
      expect(roleOf(log, a)).toBe('removed')
    }
    expectSameList(rootLog, aLog, observer)
  })

  it('concurrent grant and removal of one device: the removal wins, in every order', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const b = testDevice()
    const x = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    doc.change(rootLog, root, b.key, 'owner')
    doc.change(rootLog, root, x.key, 'editor')
    const aLog = doc.copyOf(rootLog)
    const bLog = doc.copyOf(rootLog)
    // Both directions of seniority: A (senior) grants while B removes, and the root grants while A removes.
    const grant = doc.change(aLog, a, x.key, 'owner')
    const removal = doc.change(bLog, b, x.key, 'removed')
    const grant2 = doc.change(rootLog, root, x.key, 'owner')
    const removal2 = doc.change(bLog, b, x.key, 'removed', 'again')
    for (const order of permutations([grant, removal, grant2, removal2])) {
      const log = doc.replica()
      send(log, ...doc.ops(doc.copyOf(aLog)).filter((op) => op.id !== grant.id))
      for (const op of order) send(log, op)
      expect(roleOf(log, x)).toBe('removed')
    }
    syncAll(rootLog, aLog, bLog)
    for (const log of [rootLog, aLog, bLog]) expect(roleOf(log, x)).toBe('removed')
    expectSameList(rootLog, aLog, bLog)
  })

  it('concurrent removal and re-grant of one device: the removal wins whatever the op IDs', () => {
    // The root removes X then re-adds it as editor; concurrently owner A removes X. The re-grant and A's
    // removal are concurrent changes of one device, so the least privilege (removed) must win. Try many
    // documents: which way the ID tie-break falls must not matter.
    for (let i = 0; i < 24; i++) {
      const { doc, root, rootLog } = Doc.create()
      const a = testDevice()
      const x = testDevice()
      doc.change(rootLog, root, a.key, 'owner')
      doc.change(rootLog, root, x.key, 'editor')
      const aLog = doc.copyOf(rootLog)
      doc.change(rootLog, root, x.key, 'removed')
      doc.change(rootLog, root, x.key, 'editor', 'back')
      doc.change(aLog, a, x.key, 'removed')
      syncAll(rootLog, aLog)
      expectSameList(rootLog, aLog)
      expect(roleOf(rootLog, x), `document ${i}`).toBe('removed')
    }
  })

  it('a device made owner concurrently with its removal: its ops in that window do not count', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const x = testDevice()
    const y = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    doc.change(rootLog, root, x.key, 'editor')
    const aLog = doc.copyOf(rootLog)
    const xLog = doc.copyOf(rootLog)
    const removal = doc.change(rootLog, root, x.key, 'removed')
    const grant = doc.change(aLog, a, x.key, 'owner')
    sync(aLog, xLog)
    // X, owner in its own view, grants Y owner; Y's op rests on it.
    const grantY = doc.change(xLog, x, y.key, 'owner')
    const yLog = doc.copyOf(xLog)
    const z = testDevice()
    const yOp = doc.change(yLog, y, z.key, 'editor')
    syncAll(rootLog, aLog, xLog, yLog)
    for (const log of [rootLog, aLog, xLog, yLog]) {
      expect(log.isValid(removal.id)).toBe(true)
      expect(log.isValid(grant.id)).toBe(true) // it counts, but the removal beats it
      expect(roleOf(log, x)).toBe('removed')
      expect(log.isValid(grantY.id)).toBe(false)
      expect(log.isValid(yOp.id)).toBe(false)
      expect(log.get(y.key)).toBeUndefined()
      expect(log.get(z.key)).toBeUndefined()
      expect(roleOf(log, a)).toBe('owner')
    }
    expectSameList(rootLog, aLog, xLog, yLog)
  })
})

describe('MemberLog: equivocation', () => {
  /** Owner A signs two different second ops; returns the pieces. */
  function fork(): {
    doc: Doc
    rootLog: MemberLog
    a: TestDevice
    x: TestDevice
    y: TestDevice
    z: TestDevice
    first: MemberOp
    left: MemberOp
    right: MemberOp
    after: MemberOp
  } {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const x = testDevice()
    const y = testDevice()
    const z = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    const aLog = doc.copyOf(rootLog)
    const first = doc.change(aLog, a, x.key, 'editor')
    sync(aLog, rootLog)
    const parents = doc.heads(aLog)
    const left = doc.forge(a, { seq: 2, parents, target: y.key, role: 'editor' })
    const right = doc.forge(a, { seq: 2, parents, target: z.key, role: 'viewer' })
    const after = doc.forge(a, { seq: 3, parents: [left.id], target: z.key, role: 'owner' })
    return { doc, rootLog, a, x, y, z, first, left, right, after }
  }

  it('flags the author once both ops are held, and voids its ops from that number on', () => {
    const { doc, rootLog, a, x, y, z, first, left, right, after } = fork()
    const l = doc.copyOf(rootLog)
    send(l, left, after)
    expect(roleOf(l, y)).toBe('editor') // one branch alone looks honest
    expect(roleOf(l, z)).toBe('owner')
    expect(l.equivocators()).toEqual([])
    for (const order of [
      [left, right, after],
      [right, left, after],
      [after, right, left],
    ]) {
      const log = doc.copyOf(rootLog)
      for (const op of order) send(log, op)
      expect(log.pendingCount()).toBe(0)
      expect(log.equivocators()).toEqual([a.key])
      for (const op of [left, right, after]) expect(log.isValid(op.id)).toBe(false)
      expect(log.isValid(first.id)).toBe(true) // before the fork: still counts
      expect(roleOf(log, x)).toBe('editor')
      expect(log.get(y.key)).toBeUndefined()
      expect(log.get(z.key)).toBeUndefined()
      expect(roleOf(log, a)).toBe('owner')
    }
  })

  it('finds a fork when each replica holds one branch, and converges', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const y = testDevice()
    const z = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    const parents = doc.heads(rootLog)
    const left = doc.forge(a, { seq: 1, parents, target: y.key, role: 'editor' })
    const right = doc.forge(a, { seq: 1, parents, target: z.key, role: 'viewer' })
    const l = doc.copyOf(rootLog)
    const r = doc.copyOf(rootLog)
    send(l, left)
    send(r, right)
    // The root builds on the left branch; its op must not wait forever on the right replica.
    sync(l, rootLog)
    const later = doc.change(rootLog, root, y.key, 'viewer')
    syncAll(rootLog, l, r)
    for (const log of [rootLog, l, r]) {
      expect(log.pendingCount()).toBe(0)
      expect(log.isValid(later.id)).toBe(true)
      expect(log.equivocators()).toEqual([a.key])
    }
    expectSameList(rootLog, l, r)
  })

  it('stores an op kept as fork evidence once its parents arrive, so nothing resting on it waits forever', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const y = testDevice()
    const z = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    const parents = doc.heads(rootLog)
    const left = doc.forge(a, { seq: 1, parents, target: y.key, role: 'editor' })
    const right = doc.forge(a, { seq: 1, parents, target: z.key, role: 'viewer' })
    const left2 = doc.forge(a, { seq: 2, parents: [left.id], target: z.key, role: 'editor' })
    const full = doc.copyOf(rootLog)
    send(full, left, left2, right)
    // The root builds on the left branch.
    send(rootLog, left, left2)
    const later = doc.change(rootLog, root, y.key, 'viewer')
    sync(rootLog, full)
    // A replica holding the right branch gets left2 before left: left2 proves the fork but cannot be
    // stored yet (its parent is missing); then left, then the root's op that names left2.
    const partial = doc.replica()
    send(partial, ...doc.ops(full).filter((op) => op.author !== a.key && op.id !== later.id))
    send(partial, right)
    send(partial, left2)
    expect(partial.equivocators()).toEqual([a.key])
    send(partial, left)
    send(partial, later)
    expect(partial.pendingCount()).toBe(0)
    expect(partial.isValid(later.id)).toBe(true)
    expectSameList(partial, full)
    expect(partial.version()).toEqual(full.version())
  })

  it('finds a fork from an op that was parked before the other branch arrived', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const y = testDevice()
    const z = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    const parents = doc.heads(rootLog)
    const left = doc.forge(a, { seq: 1, parents, target: y.key, role: 'editor' })
    const right = doc.forge(a, { seq: 1, parents, target: z.key, role: 'viewer' })
    const left2 = doc.forge(a, { seq: 2, parents: [left.id], target: z.key, role: 'editor' })
    const p = doc.copyOf(rootLog)
    send(p, left2) // A's second op before any first one: parked
    expect(p.pendingCount()).toBe(1)
    send(p, right) // now left2 names another predecessor than the one held
    expect(p.equivocators()).toEqual([a.key])
    expect(p.get(z.key)).toBeUndefined()
    // And it passes the evidence on to a peer that holds the same branch.
    const q = doc.copyOf(rootLog)
    send(q, right)
    expect(q.equivocators()).toEqual([])
    sync(p, q)
    expect(q.equivocators()).toEqual([a.key])
    expectSameList(p, q)
  })

  it('spreads the evidence: a replica holding both sends both, even to a peer level with it', () => {
    const { doc, rootLog, a, left, right, after } = fork()
    const both = doc.copyOf(rootLog)
    send(both, left, right)
    const onlyLeft = doc.copyOf(rootLog)
    send(onlyLeft, left, after)
    const onlyRight = doc.copyOf(rootLog)
    send(onlyRight, right)
    // Whatever version it is asked from, including its own, the evidence is in the reply.
    for (const v of [{}, both.version(), onlyLeft.version(), onlyRight.version()]) {
      const ids = doc.decode(both.changesSince(v)).map((op) => op.id)
      expect(ids).toContain(left.id)
      expect(ids).toContain(right.id)
    }
    // One exchange each way with the replica that holds both.
    for (const one of [onlyLeft, onlyRight]) {
      sync(both, one)
      sync(one, both)
      expect(one.equivocators()).toEqual([a.key])
    }
    sync(onlyLeft, onlyRight) // `after` (on the left branch) to the right: nothing changes
    expectSameList(both, onlyLeft, onlyRight)
    expect(onlyRight.isValid(after.id)).toBe(false)
  })
})

describe('MemberLog: delivery and bounds', () => {
  it('parks ops until their parents arrive, then applies them, in any order', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const devices = [testDevice(), testDevice(), testDevice()]
    doc.change(rootLog, root, a.key, 'owner')
    const aLog = doc.copyOf(rootLog)
    for (const d of devices) doc.change(aLog, a, d.key, 'editor')
    doc.change(aLog, a, devices[0]!.key, 'removed')
    sync(aLog, rootLog)
    doc.change(rootLog, root, devices[1]!.key, 'viewer')
    const all = doc.ops(rootLog)
    for (const order of [
      [...all].reverse(),
      [all[3]!, all[6]!, all[2]!, all[5]!, all[0]!, all[4]!, all[1]!],
    ]) {
      const log = doc.replica()
      order.forEach((op, i) => {
        send(log, op)
        if (i < order.length - 1 && op !== all[0]) expect(log.pendingCount()).toBeGreaterThan(0)
      })
      expect(log.pendingCount()).toBe(0)
      expect(log.size).toBe(all.length)
      expectSameList(log, rootLog)
    }
    expect(roleOf(rootLog, devices[0]!)).toBe('removed')
    expect(roleOf(rootLog, devices[1]!)).toBe('viewer')
  })

  it('keeps at most MAX_PENDING ops waiting for parents', () => {
    const { doc, root, rootLog } = Doc.create()
    const e = testDevice()
    doc.change(rootLog, root, e.key, 'editor')
    // A chain of ops whose first is withheld: all of them wait for it.
    const missing = doc.forgeNext(rootLog, e, e.key, 'owner')
    const chain: MemberOp[] = [missing]
    for (let seq = 2; seq <= MAX_PENDING + 50; seq++) {
      chain.push(doc.forge(e, { seq, parents: [chain.at(-1)!.id], target: e.key, role: 'viewer' }))
    }
    const log = doc.copyOf(rootLog)
    for (let i = 1; i < chain.length; i += 100) send(log, ...chain.slice(i, i + 100))
    expect(log.pendingCount()).toBe(MAX_PENDING)
    expect(log.size).toBe(2)
    expect(roleOf(log, e)).toBe('editor')
  })

  it(`refuses an author's ops beyond MAX_OPS_PER_AUTHOR`, () => {
    const { doc, root, rootLog } = Doc.create()
    const o = testDevice()
    doc.change(rootLog, root, o.key, 'owner')
    // An owner restating its own role, over and over.
    const chain: MemberOp[] = [doc.forgeNext(rootLog, o, o.key, 'owner')]
    for (let seq = 2; seq <= MAX_OPS_PER_AUTHOR + 5; seq++) {
      chain.push(doc.forge(o, { seq, parents: [chain.at(-1)!.id], target: o.key, role: 'owner' }))
    }
    const log = doc.copyOf(rootLog)
    send(log, ...chain)
    expect(log.version()[o.key]).toBe(MAX_OPS_PER_AUTHOR)
    expect(log.size).toBe(2 + MAX_OPS_PER_AUTHOR)
    expect(log.pendingCount()).toBe(0)
    expect(log.isValid(chain[MAX_OPS_PER_AUTHOR - 1]!.id)).toBe(true)
    // Others still get in.
    const other = testDevice()
    doc.change(log, root, other.key, 'viewer')
    expect(roleOf(log, other)).toBe('viewer')
  })

  it('refuses ops whose author was not made owner in their own past', () => {
    const { doc, root, rootLog } = Doc.create()
    const stranger = testDevice()
    const named = testDevice()
    const op = doc.forgeNext(rootLog, stranger, named.key, 'owner')
    send(rootLog, op)
    expect(rootLog.size).toBe(1)
    expect(rootLog.pendingCount()).toBe(0)
    expect(rootLog.get(named.key)).toBeUndefined()
    // Made owner later, it is still refused: the grant is not in that op's past, and what is kept is
    // decided by an op's past alone, so that every peer keeps the same ops whatever it received first.
    doc.change(rootLog, root, stranger.key, 'owner')
    send(rootLog, op)
    expect(rootLog.size).toBe(2)
    expect(rootLog.get(named.key)).toBeUndefined()
    // Its next op, made after the grant, is kept.
    const after = doc.forgeNext(rootLog, stranger, named.key, 'editor')
    send(rootLog, after)
    expect(rootLog.isValid(after.id)).toBe(true)
    expect(rootLog.get(named.key)?.role).toBe('editor')
  })
})

describe('MemberLog: storage', () => {
  it('save and load keep the list, the root, the equivocators and which ops count', () => {
    const { doc, root, rootLog } = Doc.create()
    const a = testDevice()
    const b = testDevice()
    const e = testDevice()
    doc.change(rootLog, root, a.key, 'owner')
    doc.change(rootLog, root, b.key, 'owner')
    doc.change(rootLog, root, e.key, 'editor')
    const aLog = doc.copyOf(rootLog)
    doc.change(aLog, a, e.key, 'viewer')
    const parents = doc.heads(rootLog)
    send(rootLog, doc.forge(b, { seq: 1, parents, target: e.key, role: 'owner' }))
    send(rootLog, doc.forge(b, { seq: 1, parents, target: e.key, role: 'editor' }))
    send(rootLog, doc.forgeNext(rootLog, e, e.key, 'owner'))
    sync(aLog, rootLog)
    expect(rootLog.equivocators()).toEqual([b.key])

    const loaded = MemberLog.load(doc.docId, memberCrypto, rootLog.save())
    expectSameList(loaded, rootLog)
    expect(loaded.version()).toEqual(rootLog.version())
    expect(loaded.size).toBe(rootLog.size)
    for (const op of doc.ops(rootLog)) expect(loaded.isValid(op.id)).toBe(rootLog.isValid(op.id))
    // Still live: both take the same next change the same way.
    const next = doc.forgeNext(rootLog, a, e.key, 'removed')
    send(loaded, next)
    send(rootLog, next)
    expect(roleOf(loaded, e)).toBe('removed')
    expectSameList(loaded, rootLog)
  })
})
