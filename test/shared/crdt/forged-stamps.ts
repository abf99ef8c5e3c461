/** Test support: LwwMap batches with any stamp at all, encoded by hand as a modified client would. */
import { ByteWriter } from '../../../src/shared/crdt/bytes'
import { writeHeader } from '../../../src/shared/crdt/replica-table'

/**
 * A map batch of one write (kind 3, a one-replica table, the write `counter` of `replica` setting `key`
 * to `value`), stamped (`wall`, `logical`): anything the varint format carries, bounds or not.
 */
export function forgedWrite(
  replica: string,
  counter: number,
  key: string,
  value: unknown,
  wall: number,
  logical: number,
): Uint8Array {
  const w = new ByteWriter(64)
  writeHeader(w, 3, [replica])
  w.uint(1) // one write
  w.byte(2) // same agent as the previous (agent 0), explicit counter, a set
  w.uint(counter)
  w.uint(wall)
  w.uint(logical)
  w.string(key)
  w.string(JSON.stringify(value))
  return w.finish()
}
