/**
 * The encoding of a text's order (src/shared/crdt/order-digest.ts) that the node hashes for every sync
 * request and a window hashes to compare with its node: pinned here, so that neither side can change it
 * alone, and the node's chunked hash is the hash of the whole bytes. (The page's WebCrypto digest of
 * the same bytes: test/renderer/order-check.test.ts and order-digest.browser.test.ts.)
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { forEachOrderChunk, orderBytes } from '../../../src/shared/crdt/order-digest'
import { nodeOrderDigest } from '../../support/order-dependent'

const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(bytes).digest())

describe('the order encoding', () => {
  it('is each run as <ID length>:<replica ID><first counter>,<length>; in UTF-8, tombstones included', () => {
    const zoe = new TextDoc('zoë')
    const al = new TextDoc('al')
    al.applyRemote(zoe.localInsert(0, 'ab'))
    zoe.applyRemote(al.localInsert(1, 'XY'))
    zoe.applyRemote(al.localDelete(1, 1))
    expect(zoe.toString()).toBe('aYb')
    const expected = '3:zoë1,1;2:al1,2;3:zoë2,1;'
    expect(new TextDecoder().decode(orderBytes(zoe))).toBe(expected)
    expect(orderBytes(zoe)).toEqual(new TextEncoder().encode(expected))
    expect(nodeOrderDigest(zoe)).toEqual(sha256(orderBytes(zoe)))
    expect(nodeOrderDigest(new TextDoc('empty'))).toEqual(sha256(new Uint8Array(0)))
  })

  it('comes in chunks that end between runs, and the node hashes the chunks as the whole bytes', () => {
    const p = new TextDoc('p')
    const q = new TextDoc('q')
    for (let i = 0; i < 6000; i++) {
      q.applyRemote(p.localInsert(p.length, 'p'))
      p.applyRemote(q.localInsert(q.length, 'q'))
    }
    const chunks: string[] = []
    forEachOrderChunk(p, (chunk) => chunks.push(chunk))
    expect(chunks.length).toBeGreaterThan(1)
    for (const chunk of chunks.slice(0, -1)) expect(chunk).toMatch(/^(\d+:[pq]\d+,\d+;)+$/)
    expect(new TextDecoder().decode(orderBytes(p))).toBe(chunks.join(''))
    expect(nodeOrderDigest(p)).toEqual(sha256(orderBytes(p)))
    expect(nodeOrderDigest(q)).toEqual(nodeOrderDigest(p))
  })
})
