/** Small helpers shared by the integration tests. Traffic goes to this address only. */
import type { VersionVector } from '../../src/shared/crdt'

export const HOST = '127.0.0.1'

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `cond` every 5 ms; resolves with the time it took, rejects after `timeoutMs` saying what it
 * waited for (`what` may be a function, to describe the state at the time of the failure).
 */
export async function until(
  what: string | (() => string),
  cond: () => boolean,
  timeoutMs: number,
): Promise<number> {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > timeoutMs) {
      const described = typeof what === 'string' ? what : what()
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${described}`)
    }
    await sleep(5)
  }
  return Date.now() - start
}

/** Equal as version vectors: same replicas, same counters, whatever the key order. */
export function sameVersion(a: VersionVector, b: VersionVector): boolean {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k])
}

/** Total of a version vector's counters: every character inserted or deleted counts one. */
export const opCount = (v: VersionVector): number => Object.values(v).reduce((a, b) => a + b, 0)
