/**
 * File-tree ops bound to their author (src/main/node/signed-tree.ts): a FileTree signs its ops as it
 * makes them, the signature survives the wire form and a peer's `opsSince`, and a peer sorts ops into
 * those it takes, those whose author it cannot tell yet, and forged ones.
 */
import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/main/net/device-key'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import { checkTreeOps, treeSigner, type TreeCheckDeps } from '../../../src/main/node/signed-tree'
import { CrdtDecodeError } from '../../../src/shared/crdt'
import { toHex } from '../../../src/shared/sync/hex'
import { FileTree } from '../../../src/shared/tree/file-tree'
import { decodeOps, encodeOps, ROOT, type TreeOp } from '../../../src/shared/tree/tree-ops'

const DOC = 'd'.repeat(32)

function signedTree(replica: string) {
  const keyPair = generateKeyPair()
  const sign = signerFor(keyPair)
  const tree = new FileTree(replica)
  tree.signWith(treeSigner(DOC, sign))
  return { tree, device: toHex(keyPair.publicKey), sign }
}

/** A peer that knows `bound` (replica → device). */
const deps = (bound: Record<string, string>, flagged: string[] = []): TreeCheckDeps => ({
  docId: DOC,
  deviceOf: (replica) => bound[replica],
  isFlagged: (device) => flagged.includes(device),
  verify: memberCrypto.verify,
})

describe('signed tree ops', () => {
  it('keep their signature through the wire form and a peer’s opsSince', () => {
    const alice = signedTree('aliceReplica')
    const docs = alice.tree.create(ROOT, 'docs', 'folder')
    const ops = [
      docs.op,
      alice.tree.create(docs.id, 'notes.md', 'file').op,
      alice.tree.rename(docs.id, 'Docs'),
    ]
    expect(ops.every((op) => op.sig?.length === 64)).toBe(true)
    const decoded = decodeOps(encodeOps(ops))
    expect(decoded).toEqual(ops)
    const bob = new FileTree('bobReplica00')
    bob.apply(decoded)
    expect(decodeOps(encodeOps(bob.opsSince({})))).toEqual(ops)
    expect(checkTreeOps(decoded, deps({ aliceReplica: alice.device })).take).toEqual(ops)
  })

  it('a signature that is not 64 bytes does not encode or decode', () => {
    const { tree } = signedTree('aliceReplica')
    const op = tree.create(ROOT, 'a.txt', 'file').op
    expect(() => encodeOps([{ ...op, sig: op.sig!.subarray(1) }])).toThrow(RangeError)
    const bytes = encodeOps([op])
    expect(() => decodeOps(bytes.subarray(0, bytes.length - 1))).toThrow(CrdtDecodeError)
  })

  it('a peer takes ops their author signed, waits for unknown or flagged authors, and finds forgeries', () => {
    const alice = signedTree('aliceReplica')
    const mallory = signedTree('malloryRepli')
    const bound = { aliceReplica: alice.device, malloryRepli: mallory.device }
    const made = alice.tree.create(ROOT, 'plan.md', 'file')
    expect(checkTreeOps([made.op], deps(bound)).take).toEqual([made.op])
    expect(checkTreeOps([made.op], deps({})).wait).toEqual([made.op])
    expect(checkTreeOps([made.op], deps(bound, [alice.device])).wait).toEqual([made.op])

    // Mallory deletes alice's file in alice's name, with alice's next counter: forged, signed or not.
    const forged: TreeOp = { ...made.op, counter: 2, parent: 'trash', name: undefined }
    const signedByMallory = { ...forged, sig: treeSigner(DOC, mallory.sign)(forged) }
    const { sig: _sig, ...unsigned } = forged
    for (const op of [signedByMallory, unsigned]) expect(checkTreeOps([op], deps(bound)).forged).toEqual([op])
    // A signature is bound to every field and to the document.
    const moved: TreeOp = { ...made.op, name: 'other.md' }
    expect(checkTreeOps([moved], deps(bound)).forged).toEqual([moved])
    expect(checkTreeOps([made.op], { ...deps(bound), docId: 'e'.repeat(32) }).forged).toHaveLength(1)
  })
})
