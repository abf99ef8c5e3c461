/**
 * The page of order-digest.browser.test.ts (bundled by the test with esbuild): a TextDoc replica fed
 * batches in the order given, and the window's digest of its order (WebCrypto, as the editor asks its
 * node with it).
 */
import { TextDoc } from '../../src/shared/crdt'
import { orderDigest } from '../../src/renderer/src/binding/order-check'

export interface PageDigest {
  /** The digest, hex. */
  readonly digest: string
  readonly text: string
  /** Whether the page is a secure context (WebCrypto's digest needs one). */
  readonly secure: boolean
}

const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))

async function orderDigestOf(replica: string, batches: string[]): Promise<PageDigest> {
  const doc = new TextDoc(replica)
  for (const batch of batches) doc.applyRemote(fromBase64(batch))
  const digest = [...(await orderDigest(doc))].map((b) => b.toString(16).padStart(2, '0')).join('')
  return { digest, text: doc.toString(), secure: window.isSecureContext }
}

Object.assign(window, { orderDigestOf })
