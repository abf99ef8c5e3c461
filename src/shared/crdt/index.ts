/**
 * Meshpad's CRDTs: `TextDoc`, the RGA-family sequence CRDT that holds a document's text, and `LwwMap`,
 * the last-writer-wins map that holds its properties and member list. Everything here is pure,
 * synchronous and deterministic: no I/O, and clocks only where injected.
 */
export { TextDoc, type HistoryEntry, type TextDocOptions } from './text-doc'
export { splitTextBatch, useInflate, type DecodedOps, type Inflate, type Utf8Bytes } from './text-codec'
export { useBrotli, type Brotli } from './packing'
export { opensFromSnapshot, openWindowState, packWindowState } from './window-state'
export {
  LwwMap,
  StampAheadError,
  checkStampWindow,
  decodeMapBatch,
  decodePropWrites,
  encodePropWrites,
  type DecodedMapBatch,
  type LwwChange,
  type PropSigner,
  type PropWrite,
  type LwwOptions,
  type Clock,
} from './lww-map'
export { MAX_DRIFT_MS, MAX_LOGICAL, MAX_WALL, type Timestamp } from './hlc'
export {
  CrdtDecodeError,
  DamagedStateError,
  sameVersion,
  type CharId,
  type TextChange,
  type VersionVector,
} from './types'
