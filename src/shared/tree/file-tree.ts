/**
 * FileTree: a replicated tree of files and folders, the move CRDT of Kleppmann et al., "A
 * highly-available move operation for replicated trees" (IEEE TPDS 2021).
 *
 * Every change is one op, `move(node, parent, name)` stamped with a hybrid logical clock (tree-ops.ts).
 * Create is a move of a node the tree does not hold yet; delete is a move into TRASH. Replicas apply
 * the same ops in the same total order (stamp, replica, counter): an op that arrives after later-
 * stamped ones are applied undoes them, applies itself, and redoes them (undo-do-redo), so every
 * replica ends with the tree that applying all ops in stamp order gives. An op is skipped (kept in
 * the log, changing nothing) when, at its place in that order, it would make the node its own
 * ancestor, its parent is not a folder in the tree, or it leaves the parent or name out (a rename or
 * plain move) of a node not in the tree; as the decision is re-made on every redo, it is the same on
 * every replica. No cycle can ever form, and a node is in the tree once only.
 *
 * As in LwwMap, each op also takes its replica's next counter, so that version vectors and `opsSince`
 * work as in the other CRDTs: an op whose replica's earlier op is missing waits (parked) until it comes.
 */
import { HybridClock, type Timestamp } from '../crdt/hlc'
import type { Clock } from '../crdt/lww-map'
import { checkReplicaId } from '../crdt/replica-table'
import { Replicas } from '../crdt/replicas'
import { CrdtDecodeError, type VersionVector } from '../crdt/types'
import { displayNames, foldedName, windowsName } from './names'
import {
  badName,
  badOp,
  compareOps,
  MAX_NODES,
  MAX_OPS_PER_BATCH,
  ROOT,
  TRASH,
  type NodeKind,
  type TreeOp,
} from './tree-ops'

export interface TreeOptions {
  readonly clock?: Clock
  /** Nodes the tree holds at most (default MAX_NODES; tests lower it). Every replica must agree. */
  readonly maxNodes?: number
}

/** Signs an op of this replica as it is made (with its device's key: src/main/node/signed-tree.ts). */
export type TreeSigner = (op: TreeOp) => Uint8Array

/** Where a node is: its parent and its stored name. */
export interface Place {
  readonly parent: string
  readonly name: string
}

/** A node whose place changed: `before` undefined, it is new; `after` undefined, it left the tree (only a peer reusing another's node ID can make that happen). */
export interface TreeChange {
  readonly id: string
  readonly before: Place | undefined
  readonly after: Place | undefined
}

/** A node in the trash (deleted, and not inside a deleted folder), as `deleted` lists it. */
export interface DeletedNode {
  readonly id: string
  readonly name: string
  readonly kind: NodeKind
  /** Where it was when deleted (its folder, its stored name); undefined if not known. */
  readonly from: Place | undefined
  /** The delete's stamp: when, by its author's clock. */
  readonly stamp: Timestamp
}

export interface TreeEntry {
  readonly id: string
  /** The display path from the root, names joined by "/". */
  readonly path: string
  readonly kind: NodeKind
}

interface Node extends Place {
  readonly kind: NodeKind
  /** The op that put the node where it is: the earlier of two equal names keeps it (names.ts). */
  readonly by: TreeOp
}

interface Entry {
  readonly op: TreeOp
  /** The node as it was before the op, for undo. */
  readonly prev: Node | undefined
  readonly applied: boolean
}

/** Ops parked for a missing earlier op of their replica, at most: a peer cannot grow them unbounded. */
const MAX_PENDING = 100_000

export class FileTree {
  readonly replica: string
  private readonly clock: HybridClock
  private sign: TreeSigner | undefined
  private readonly known: Replicas
  /** Every op applied, in the total order. */
  private readonly log: Entry[] = []
  private readonly nodes = new Map<string, Node>()
  private readonly kids = new Map<string, Set<string>>()
  private readonly pending = new Map<string, TreeOp>()
  /** Display names by folder, computed on demand and dropped whenever the tree changes. */
  private names = new Map<string, Map<string, string>>()
  private readonly maxNodes: number
  /** What makes two names one in a folder here: exact, or folded (`foldNames`). */
  private nameKey: (name: string) => string = (name) => name
  /** The name a stored name is shown and written as here: itself, or one Windows takes (`windowsNames`). */
  private localName: (name: string) => string = (name) => name

  constructor(replica: string, options: TreeOptions = {}) {
    checkReplicaId(replica)
    this.replica = replica
    this.maxNodes = options.maxNodes ?? MAX_NODES
    this.clock = new HybridClock(options.clock ?? Date.now)
    this.known = new Replicas(replica)
  }

  /**
   * Shows names that differ only in case or Unicode normalisation as distinct names ("readme (2).md"
   * beside "README.md"), for a device whose file system takes them for one (macOS, Windows): there two
   * such files would be written to one path, and one's text would go into the other. Local: only
   * what this device shows and writes changes, not the ops or the other replicas' names.
   */
  foldNames(): void {
    this.nameKey = foldedName
    this.names = new Map()
  }

  /**
   * Shows and writes names Windows refuses ("aux.c", "what?.md", "notes.") as names it takes
   * (`windowsName`: "aux_.c"), for a Windows device: there such a file could not be written at all.
   * Local, as `foldNames` is.
   */
  windowsNames(): void {
    this.localName = windowsName
    this.names = new Map()
  }

  /** Whether two names are one here (exactly, or folded: `foldNames`). */
  sameName(a: string, b: string): boolean {
    return this.nameKey(a) === this.nameKey(b)
  }

  /** Signs this replica's ops from now on. */
  signWith(sign: TreeSigner): void {
    this.sign = sign
  }

  // ---- local changes: each returns the op to send to peers --------------------------------------

  create(parent: string, name: string, kind: NodeKind): { id: string; op: TreeOp } {
    this.checkTarget(parent, undefined, name)
    if (this.nodes.size >= this.maxNodes)
      throw new RangeError(`FileTree: a tree holds at most ${this.maxNodes} files and folders`)
    const id = `${this.replica}:${this.known.seen[0]! + 1}`
    return { id, op: this.local(id, parent, name, kind) }
  }

  /**
   * Moves a node (out of the trash too), renaming it if `newName` is given. The op names only what
   * changes, so that a concurrent rename or move by another replica takes effect as well (tree-ops.ts).
   */
  move(id: string, newParent: string, newName?: string): TreeOp {
    const node = this.nodes.get(id)
    if (!node) throw new RangeError(`FileTree: no node ${id}`)
    this.checkTarget(newParent, id, newName ?? node.name)
    const parent = newParent === node.parent ? undefined : newParent
    const name = newName === node.name ? undefined : newName
    return this.local(id, parent, name, node.kind)
  }

  rename(id: string, newName: string): TreeOp {
    const node = this.nodes.get(id)
    if (!node) throw new RangeError(`FileTree: no node ${id}`)
    return this.move(id, node.parent, newName)
  }

  /** Moves the node, and so all it holds, into the trash; `move` out of it undoes this. */
  remove(id: string): TreeOp {
    const node = this.nodes.get(id)
    if (!node) throw new RangeError(`FileTree: no node ${id}`)
    return this.local(id, TRASH, undefined, node.kind)
  }

  // ---- peers' ops --------------------------------------------------------------------------------

  /**
   * Applies ops from peers (or replayed from storage), in any order, duplicates ignored. A malformed op
   * throws CrdtDecodeError and nothing of the batch is applied. Returns the nodes whose place changed.
   */
  apply(ops: readonly TreeOp[]): TreeChange[] {
    if (ops.length > MAX_OPS_PER_BATCH)
      throw new CrdtDecodeError(`at most ${MAX_OPS_PER_BATCH} ops in a batch`)
    for (const op of ops) {
      const bad = badOp(op)
      if (bad) throw new CrdtDecodeError(bad)
    }
    if (this.pending.size + ops.length > MAX_PENDING) {
      throw new CrdtDecodeError('FileTree: too many ops waiting for missing earlier ones; batch refused')
    }
    const agents = this.known.agentsOf(ops.map((op) => op.replica))
    const touched = new Set<number>()
    ops.forEach((op, i) => {
      if (op.counter <= this.known.seen[agents[i]!]!) return
      this.pending.set(`${op.replica}:${op.counter}`, op)
      touched.add(agents[i]!)
    })
    // Each replica's ops go in counter order, so that the version vector says exactly what is here.
    const ready: TreeOp[] = []
    for (const agent of touched) {
      const replica = this.known.ids[agent]!
      for (;;) {
        const key = `${replica}:${this.known.seen[agent]! + 1}`
        const op = this.pending.get(key)
        if (!op) break
        this.pending.delete(key)
        this.known.seen[agent]!++
        this.clock.observe(op.stamp)
        ready.push(op)
      }
    }
    return this.integrate(ready)
  }

  version(): VersionVector {
    return this.known.version()
  }

  /** The applied ops a peer at `version` lacks (send them with encodeOps, cut to MAX_OPS_PER_BATCH). */
  opsSince(version: VersionVector): TreeOp[] {
    return this.log.filter((e) => e.op.counter > (version[e.op.replica] ?? 0)).map((e) => e.op)
  }

  /** Ops applied and parked: it grows exactly when a batch was news. */
  opCount(): number {
    return this.log.length + this.pending.size
  }

  pendingCount(): number {
    return this.pending.size
  }

  // ---- the view ----------------------------------------------------------------------------------

  /** Where a node is stored (TRASH included), or undefined if the tree does not hold it. */
  place(id: string): (Place & { kind: NodeKind }) | undefined {
    const n = this.nodes.get(id)
    return n && { parent: n.parent, name: n.name, kind: n.kind }
  }

  /** A folder's children (ROOT, TRASH or a node) with their display names, sorted by them. */
  children(id: string): { id: string; name: string; kind: NodeKind }[] {
    const names = this.displayNamesOf(id)
    return [...names]
      .map(([child, name]) => ({ id: child, name, kind: this.nodes.get(child)!.kind }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** The display path of a live node ("" for the root); undefined if it is deleted or unknown. */
  path(id: string): string | undefined {
    const parts: string[] = []
    let at = id
    while (at !== ROOT) {
      const n = this.nodes.get(at)
      if (!n) return undefined // TRASH, or a node the tree does not hold
      parts.push(this.displayNamesOf(n.parent).get(at)!)
      at = n.parent
    }
    return parts.reverse().join('/')
  }

  /**
   * The nodes deleted (the trash's own children: what a deleted folder holds goes with it), latest
   * delete first, at most `limit`, each with where it was: what a move out of the trash puts back.
   */
  deleted(limit = Infinity): DeletedNode[] {
    const latest = [...(this.kids.get(TRASH) ?? [])]
      .map((id) => ({ id, node: this.nodes.get(id)! }))
      .sort((a, b) => compareOps(b.node.by, a.node.by))
      .slice(0, limit)
    const from = this.placesBefore(latest.map(({ node }) => node.by))
    const names = this.displayNamesOf(TRASH)
    return latest.map(({ id, node }) => ({
      id,
      name: names.get(id) ?? node.name,
      kind: node.kind,
      from: from.get(node.by),
      stamp: node.by.stamp,
    }))
  }

  /** Where a deleted node was when deleted (as `deleted` lists it); undefined if not deleted or not known. */
  deletedFrom(id: string): Place | undefined {
    const node = this.nodes.get(id)
    return node?.parent === TRASH ? this.placesBefore([node.by]).get(node.by) : undefined
  }

  /**
   * Every live node (the trash's are not), by display path, sorted. `maxPath` (UTF-16 code units)
   * leaves out the nodes whose path is longer, and what is under them: a peer can nest folders
   * 100,000 deep, whose paths together would take memory quadratic in the depth.
   */
  list(maxPath = Infinity): TreeEntry[] {
    const out: TreeEntry[] = []
    // A stack, not recursion: a deep tree must not overflow the call stack.
    const todo: [string, string][] = [[ROOT, '']]
    while (todo.length > 0) {
      const [folder, prefix] = todo.pop()!
      for (const c of this.children(folder)) {
        const path = prefix + c.name
        if (path.length > maxPath) continue
        out.push({ id: c.id, path, kind: c.kind })
        if (c.kind === 'folder') todo.push([c.id, path + '/'])
      }
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  }

  // ---- internals ---------------------------------------------------------------------------------

  private local(node: string, parent: string | undefined, name: string | undefined, kind: NodeKind): TreeOp {
    const unsigned: TreeOp = {
      replica: this.replica,
      counter: ++this.known.seen[0]!,
      stamp: this.clock.tick(),
      node,
      parent,
      name,
      kind,
    }
    const op = this.sign ? { ...unsigned, sig: this.sign(unsigned) } : unsigned
    this.integrate([op])
    return op
  }

  /** Throws RangeError unless `node` (undefined: a new one) may go into `parent` as `name`. */
  private checkTarget(parent: string, node: string | undefined, name: string): void {
    const bad = badName(name)
    if (bad) throw new RangeError(`FileTree: ${bad}`)
    if (parent !== ROOT && this.nodes.get(parent)?.kind !== 'folder') {
      throw new RangeError(`FileTree: ${parent} is not a folder of this tree`)
    }
    if (node !== undefined && this.isAncestor(node, parent)) {
      throw new RangeError('FileTree: a folder cannot move into itself')
    }
  }

  /**
   * Where each op's node was before the op (out of the trash): the log's undo records, found in one
   * pass from the end, where recent ops are.
   */
  private placesBefore(ops: readonly TreeOp[]): Map<TreeOp, Place | undefined> {
    const found = new Map<TreeOp, Place | undefined>()
    const wanted = new Set(ops)
    for (let i = this.log.length - 1; i >= 0 && found.size < wanted.size; i--) {
      const { op, prev } = this.log[i]!
      if (!wanted.has(op)) continue
      found.set(op, prev && prev.parent !== TRASH ? { parent: prev.parent, name: prev.name } : undefined)
    }
    return found
  }

  /** Whether `a` is `b` or above it. Ends: the tree has no cycles, so every chain reaches ROOT or TRASH. */
  private isAncestor(a: string, b: string): boolean {
    for (let at: string | undefined = b; at !== undefined; at = this.nodes.get(at)?.parent) {
      if (at === a) return true
    }
    return false
  }

  /** Undo-do-redo: puts `ops` (new, applied nowhere yet) into the log in order and the tree in step. */
  private integrate(ops: TreeOp[]): TreeChange[] {
    if (ops.length === 0) return []
    ops.sort(compareOps)
    const from = this.insertionPoint(ops[0]!)
    const before = new Map<string, Place | undefined>()
    const note = (id: string): void => {
      if (!before.has(id)) before.set(id, this.nodes.get(id))
    }
    for (const op of ops) note(op.node)
    const redo: TreeOp[] = []
    while (this.log.length > from) {
      const e = this.log.pop()!
      note(e.op.node)
      if (e.applied) this.setNode(e.op.node, e.prev)
      redo.push(e.op)
    }
    redo.reverse()
    // Merge the undone ops (in order) with the new ones (in order), doing each.
    let i = 0
    let j = 0
    while (i < redo.length || j < ops.length) {
      const next =
        j >= ops.length || (i < redo.length && compareOps(redo[i]!, ops[j]!) < 0) ? redo[i++]! : ops[j++]!
      this.doOp(next)
    }
    this.names = new Map()
    const changes: TreeChange[] = []
    for (const [id, was] of before) {
      const now = this.nodes.get(id)
      if (was?.parent !== now?.parent || was?.name !== now?.name) {
        changes.push({
          id,
          before: was && { parent: was.parent, name: was.name },
          after: now && { parent: now.parent, name: now.name },
        })
      }
    }
    return changes
  }

  /** Index of the first logged op after `op` (searched from the end: new ops are usually the latest). */
  private insertionPoint(op: TreeOp): number {
    let lo = 0
    let hi = this.log.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareOps(this.log[mid]!.op, op) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Applies one op at the end of the log, or skips it (README.md, "Conflict rules"). */
  private doOp(op: TreeOp): void {
    const prev = this.nodes.get(op.node)
    // A rename or a plain move of a node the tree does not hold (yet) has nothing to go on: skipped.
    const parent = op.parent ?? prev?.parent
    const name = op.name ?? prev?.name
    let applied = false
    if (
      parent !== undefined &&
      name !== undefined &&
      // A create past the bound (README.md, "Bounds"): the count is the same everywhere at this point.
      (prev !== undefined || this.nodes.size < this.maxNodes) &&
      (parent === ROOT || parent === TRASH || this.nodes.get(parent)?.kind === 'folder') &&
      !this.isAncestor(op.node, parent)
    ) {
      this.setNode(op.node, { parent, name, kind: prev?.kind ?? op.kind, by: op })
      applied = true
    }
    this.log.push({ op, prev, applied })
  }

  private setNode(id: string, node: Node | undefined): void {
    const old = this.nodes.get(id)
    if (old) this.kids.get(old.parent)!.delete(id)
    if (node) {
      this.nodes.set(id, node)
      let set = this.kids.get(node.parent)
      if (!set) this.kids.set(node.parent, (set = new Set()))
      set.add(id)
    } else this.nodes.delete(id)
  }

  private displayNamesOf(folder: string): Map<string, string> {
    let names = this.names.get(folder)
    if (!names) {
      const children = [...(this.kids.get(folder) ?? [])].map((id) => ({ id, ...this.nodes.get(id)! }))
      children.sort((a, b) => compareOps(a.by, b.by))
      names = displayNames(children, this.nameKey, this.localName)
      this.names.set(folder, names)
    }
    return names
  }
}
