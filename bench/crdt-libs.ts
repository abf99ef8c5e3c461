/**
 * The text CRDTs that the `crdt` benchmark compares, each behind the same small interface, and the
 * editing trace they replay. Shared by the suite (bench/crdt.ts) and its children (bench/crdt-child.ts).
 * Each library is imported only when its contender is asked for (loadContender), so that a child
 * measuring one library has no other library's code or data in its heap, and starts sooner.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { Doc as DtDoc } from 'diamond-types-node'
import type { Model, StrNode } from 'json-joy/lib/json-crdt'
import type * as Y from 'yjs'
import type { TextDoc } from './shipped-crdt'

/** One edit, splice-style: at `pos`, delete `del` characters, then insert `ins`. */
export type Patch = readonly [pos: number, del: number, ins: string]

export interface Trace {
  readonly name: string
  readonly patches: readonly Patch[]
  readonly endContent: string
}

/** Something that replays a trace; the plain-string baseline is only this. */
export interface Replayer<D> {
  readonly name: string
  /** Applies every patch of the trace, one local edit each, to a new document. */
  replay(trace: Trace): D
  /** The document's text (materialised, if the library keeps it in another form). */
  text(doc: D): string
  /** Releases memory that the garbage collector cannot (wasm objects). */
  free?(doc: D): void
}

/** A text CRDT: a replayer whose documents can also be saved, loaded and synced keystroke by keystroke. */
export interface CrdtLib<D> extends Replayer<D> {
  save(doc: D): Uint8Array
  /** A document from `save()` bytes; `text(load(bytes))` then reads it. */
  load(bytes: Uint8Array): D
  /** Mean size in bytes of the update each single edit of the trace produces for the network. */
  keystrokeBytes(trace: Trace): number
}

export function isCrdt<D>(lib: Replayer<D>): lib is CrdtLib<D> {
  return 'save' in lib
}

/** Meshpad's replica IDs are 8 characters; diamond-types gets the same agent name. */
export const REPLICA = 'k3Jx9QpZ'
/** yjs and json-joy draw random numeric IDs; pinned to typical draws so that sizes are reproducible. */
const YJS_CLIENT_ID = 2_971_436_073 // random uint32: 5 bytes as a varint, like 94% of draws
const JSON_JOY_SID = 6_177_545_297_416_115 // Model.sid(): uniform in [65536, 2^53)

function applyTo(
  trace: Trace,
  ins: (pos: number, text: string) => void,
  del: (pos: number, n: number) => void,
) {
  for (const [pos, n, text] of trace.patches) {
    if (n > 0) del(pos, n)
    if (text.length > 0) ins(pos, text)
  }
}

/** Calls `edit` once per patch and returns the mean of the byte counts it reports. */
function meanPerPatch(trace: Trace, edit: (patch: Patch) => number): number {
  let total = 0
  for (const patch of trace.patches) total += edit(patch)
  return total / trace.patches.length
}

export const MESHPAD = 'Meshpad'
/**
 * Meshpad as the app stores and opens a document: the state form (`saveState`/`loadState`, what a
 * snapshot on disk holds: the document, its history alongside), where `Meshpad` is the op-log form
 * (`save`/`load`, a replay of every op). Issue 14's snapshot, load and memory goals are judged on this.
 */
export const MESHPAD_SNAPSHOT = 'Meshpad snapshot'

async function meshpad(): Promise<CrdtLib<TextDoc>> {
  const { TextDoc } = await import('./shipped-crdt')
  return {
    name: MESHPAD,
    replay(trace) {
      const doc = new TextDoc(REPLICA)
      applyTo(
        trace,
        (pos, text) => doc.localInsert(pos, text),
        (pos, n) => doc.localDelete(pos, n),
      )
      return doc
    },
    text: (doc) => doc.toString(),
    save: (doc) => doc.save(),
    load: (bytes) => TextDoc.load(bytes, REPLICA),
    keystrokeBytes(trace) {
      const doc = new TextDoc(REPLICA)
      return meanPerPatch(trace, ([pos, n, text]) => {
        let size = 0
        if (n > 0) size += doc.localDelete(pos, n).length
        if (text.length > 0) size += doc.localInsert(pos, text).length
        return size
      })
    },
  }
}

async function yjs(): Promise<CrdtLib<Y.Doc>> {
  const Y = await import('yjs')
  const newYDoc = (): Y.Doc => {
    const doc = new Y.Doc()
    doc.clientID = YJS_CLIENT_ID
    return doc
  }
  return {
    name: 'yjs',
    replay(trace) {
      const doc = newYDoc()
      const text = doc.getText()
      applyTo(
        trace,
        (pos, chars) => text.insert(pos, chars),
        (pos, n) => text.delete(pos, n),
      )
      return doc
    },
    text: (doc) => doc.getText().toString(),
    save: (doc) => Y.encodeStateAsUpdateV2(doc),
    load(bytes) {
      const doc = new Y.Doc()
      Y.applyUpdateV2(doc, bytes)
      return doc
    },
    keystrokeBytes(trace) {
      const doc = newYDoc()
      const text = doc.getText()
      let size = 0
      doc.on('updateV2', (update: Uint8Array) => (size += update.length))
      // Each edit runs in a transaction of its own, so it emits exactly one update.
      return meanPerPatch(trace, ([pos, n, chars]) => {
        size = 0
        doc.transact(() => {
          if (n > 0) text.delete(pos, n)
          if (chars.length > 0) text.insert(pos, chars)
        })
        return size
      })
    },
  }
}

/**
 * json-joy's JSON CRDT model with a `str` root, edited through `model.api.str([])`: the way its own
 * trace benchmark drives it. Local edits also append to the model's patch builder, which is not flushed
 * during the replay (as in that benchmark); the keystroke pass flushes after every edit.
 */
async function jsonJoy(): Promise<CrdtLib<Model<StrNode>>> {
  const { Model, s } = await import('json-joy/lib/json-crdt')
  /** A json-joy model whose root is a `str` node, with the change buffer already flushed. */
  const newJsonJoyModel = (): Model<StrNode> => {
    const model = Model.create(s.str<string>(''), JSON_JOY_SID)
    model.api.flush()
    return model
  }
  return {
    name: 'json-joy',
    replay(trace) {
      const model = newJsonJoyModel()
      const str = model.api.str([])
      applyTo(
        trace,
        (pos, chars) => str.ins(pos, chars),
        (pos, n) => str.del(pos, n),
      )
      return model
    },
    text: (model) => model.view(),
    save: (model) => model.toBinary(),
    load: (bytes) => Model.fromBinary<StrNode>(bytes),
    keystrokeBytes(trace) {
      const model = newJsonJoyModel()
      const str = model.api.str([])
      return meanPerPatch(trace, ([pos, n, chars]) => {
        if (n > 0) str.del(pos, n)
        if (chars.length > 0) str.ins(pos, chars)
        return model.api.flush().toBinary().length
      })
    },
  }
}

/** diamond-types' `Doc` (an oplog plus a checked-out branch), in wasm: documents must be freed. */
async function diamondTypes(): Promise<CrdtLib<DtDoc>> {
  const { Doc: DtDoc } = await import('diamond-types-node')
  return {
    name: 'diamond-types',
    replay(trace) {
      const doc = new DtDoc(REPLICA)
      applyTo(
        trace,
        (pos, chars) => doc.ins(pos, chars),
        (pos, n) => doc.del(pos, n),
      )
      return doc
    },
    text: (doc) => doc.get(),
    free: (doc) => doc.free(),
    save: (doc) => doc.toBytes(),
    load: (bytes) => DtDoc.fromBytes(bytes, REPLICA),
    keystrokeBytes(trace) {
      const doc = new DtDoc(REPLICA)
      try {
        return meanPerPatch(trace, ([pos, n, chars]) => {
          const before = doc.getLocalVersion()
          if (n > 0) doc.del(pos, n)
          if (chars.length > 0) doc.ins(pos, chars)
          return doc.getPatchSince(before).length
        })
      } finally {
        doc.free()
      }
    },
  }
}

/** The floor: a plain JS string, spliced with slice + concat. */
export const plainString: Replayer<{ text: string }> = {
  name: 'JS string',
  replay(trace) {
    let text = ''
    for (const [pos, n, ins] of trace.patches) text = text.slice(0, pos) + ins + text.slice(pos + n)
    return { text }
  },
  text: (doc) => doc.text,
}

async function meshpadSnapshot(): Promise<CrdtLib<TextDoc>> {
  const { TextDoc } = await import('./shipped-crdt')
  return {
    ...(await meshpad()),
    name: MESHPAD_SNAPSHOT,
    save: (doc) => doc.saveState(),
    load: (bytes) => TextDoc.loadState(bytes, REPLICA),
  }
}

const crdts: Record<string, () => Promise<CrdtLib<unknown>>> = {
  [MESHPAD]: meshpad,
  [MESHPAD_SNAPSHOT]: meshpadSnapshot,
  yjs,
  'json-joy': jsonJoy,
  'diamond-types': diamondTypes,
}

/** The CRDTs' names, Meshpad first; the suite adds the string baseline. */
export const CRDT_NAMES: readonly string[] = Object.keys(crdts)

/** The contender called `name` (a CRDT or the string baseline), importing its library now. */
export async function loadContender(name: string): Promise<Replayer<unknown>> {
  if (name === plainString.name) return plainString
  const load = crdts[name]
  if (!load) throw new Error(`Unknown contender ${name}`)
  return load()
}

/** The CRDT called `name`, importing its library now. */
export async function loadCrdt(name: string): Promise<CrdtLib<unknown>> {
  const lib = await loadContender(name)
  if (!isCrdt(lib)) throw new Error(`${name} is not a CRDT`)
  return lib
}

export const TRACE_FILE = path.resolve(process.cwd(), '../shared/traces/automerge-paper.json.gz')

/** Reads a sequential trace (see ../shared/traces/README.md) into a flat list of patches. */
export function loadTrace(file = TRACE_FILE): Trace {
  const json: unknown = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'))
  const fail = (why: string): never => {
    throw new Error(`${file} is not a sequential editing trace: ${why}`)
  }
  if (typeof json !== 'object' || json === null) return fail('not an object')
  const { startContent, endContent, txns } = json as Record<string, unknown>
  if (startContent !== '') fail('startContent is not empty')
  if (typeof endContent !== 'string') return fail('endContent is not a string')
  if (!Array.isArray(txns)) return fail('txns is not an array')
  const patches: Patch[] = []
  for (const txn of txns as unknown[]) {
    const list = (txn as { patches?: unknown }).patches
    if (!Array.isArray(list)) return fail('a transaction has no patches')
    for (const p of list as unknown[]) {
      if (
        !Array.isArray(p) ||
        typeof p[0] !== 'number' ||
        typeof p[1] !== 'number' ||
        typeof p[2] !== 'string'
      )
        return fail(`bad patch ${JSON.stringify(p)}`)
      patches.push([p[0], p[1], p[2]])
    }
  }
  return { name: path.basename(file).replace(/\.json\.gz$/, ''), patches, endContent }
}
