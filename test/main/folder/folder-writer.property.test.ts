/**
 * FolderWriter under random sequences of tree states on a real disk: creates, edits, renames, moves
 * (of files and of folders with everything in them, swaps of names included) and removals. After each
 * apply the folder holds exactly the state (every path, every byte), with no problem reported and no
 * temp file left behind, and the writer's index of paths (`idAt`) names each entry at its path.
 *
 * Seeds: MESHPAD_SEEDS (default 60) from 1, or one seed with MESHPAD_SEED.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FolderWriter, type MirrorEntry } from '../../../src/main/folder/folder-writer'
import { seededRandom, type Random } from '../../../src/shared/random'

const one = process.env.MESHPAD_SEED
const SEEDS = one !== undefined ? 1 : Number(process.env.MESHPAD_SEEDS ?? 60)
const FIRST = one !== undefined ? Number(one) : 1
const STEPS = 25
const NAMES = ['a', 'b', 'c', 'notes.md', 'x.ts']

interface Node {
  kind: 'file' | 'folder'
  parent: string // '' is the root
  name: string
  text: string
}

/** A random tree, changed step by step, with names unique in each folder (as the tree shows them). */
class Model {
  readonly nodes = new Map<string, Node>()
  private next = 0
  constructor(private readonly random: Random) {}

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.random() * xs.length)]
  }
  private folders(): string[] {
    return ['', ...[...this.nodes].filter(([, n]) => n.kind === 'folder').map(([id]) => id)]
  }
  private freeName(parent: string): string | undefined {
    const taken = new Set([...this.nodes.values()].filter((n) => n.parent === parent).map((n) => n.name))
    return this.pick(NAMES.filter((n) => !taken.has(n)))
  }
  private within(id: string, ancestor: string): boolean {
    for (let at = id; at !== ''; at = this.nodes.get(at)!.parent) if (at === ancestor) return true
    return false
  }

  step(): void {
    const r = this.random()
    const ids = [...this.nodes.keys()]
    if (r < 0.35 || ids.length < 3) {
      const parent = this.pick(this.folders())!
      const name = this.freeName(parent)
      if (name === undefined) return
      const kind = this.random() < 0.3 ? 'folder' : 'file'
      this.nodes.set(`n${this.next++}`, { kind, parent, name, text: `text ${this.next}\n` })
    } else if (r < 0.5) {
      const id = this.pick(ids.filter((i) => this.nodes.get(i)!.kind === 'file'))
      if (id) this.nodes.get(id)!.text += `edit ${this.next++}\n`
    } else if (r < 0.85) {
      // A move, a rename, or both; a folder carries its contents.
      const id = this.pick(ids)!
      const node = this.nodes.get(id)!
      const parent =
        this.random() < 0.5 ? node.parent : this.pick(this.folders().filter((f) => !this.within(f, id)))!
      const siblings = new Set(
        [...this.nodes].filter(([i, n]) => n.parent === parent && i !== id).map(([, n]) => n.name),
      )
      const name =
        this.random() < 0.5 && !siblings.has(node.name)
          ? node.name
          : this.pick(NAMES.filter((n) => !siblings.has(n)))
      if (name === undefined) return
      node.parent = parent
      node.name = name
    } else if (r < 0.92) {
      // A swap of two siblings' names.
      const a = this.pick(ids)!
      const b = this.pick(
        ids.filter((i) => i !== a && this.nodes.get(i)!.parent === this.nodes.get(a)!.parent),
      )
      if (!b) return
      const [na, nb] = [this.nodes.get(a)!, this.nodes.get(b)!]
      ;[na.name, nb.name] = [nb.name, na.name]
    } else {
      const id = this.pick(ids)!
      for (const other of ids.filter((o) => this.within(o, id))) this.nodes.delete(other)
    }
  }

  path(id: string): string {
    const n = this.nodes.get(id)!
    return n.parent === '' ? n.name : `${this.path(n.parent)}/${n.name}`
  }

  state(): Map<string, MirrorEntry> {
    const out = new Map<string, MirrorEntry>()
    for (const [id, n] of this.nodes) {
      out.set(
        id,
        n.kind === 'folder'
          ? { kind: 'folder', path: this.path(id) }
          : { kind: 'file', path: this.path(id), text: n.text },
      )
    }
    return out
  }
}

/** The folder as path → text ('/' for a folder). */
function onDisk(root: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const p of readdirSync(root, { recursive: true }) as string[]) {
    const path = p.split('\\').join('/')
    out.set(path, statSync(join(root, p)).isDirectory() ? '/' : readFileSync(join(root, p), 'utf8'))
  }
  return out
}

describe('FolderWriter: random tree states on a real disk', () => {
  it(
    `holds exactly each state, over ${SEEDS} seeds of ${STEPS} steps`,
    async () => {
      for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
        const root = mkdtempSync(join(tmpdir(), 'meshpad-writer-prop-'))
        try {
          const model = new Model(seededRandom(seed))
          const writer = new FolderWriter(root)
          for (let step = 0; step < STEPS; step++) {
            model.step()
            const state = model.state()
            const problems = await writer.apply(state)
            const expected = new Map(
              [...state.values()].map((e) => [e.path, e.kind === 'folder' ? '/' : e.text!]),
            )
            const where = `seed ${seed}, step ${step}`
            expect(problems, where).toEqual([])
            expect(new Map([...onDisk(root)].sort()), where).toEqual(new Map([...expected].sort()))
            // The path index (idAt) agrees with what the writer knows, after moves of whole folders too.
            for (const [id, entry] of state)
              expect(writer.idAt(entry.path), `${where}, ${entry.path}`).toBe(id)
            expect([...writer.entries()].length, where).toBe(state.size)
            for (const path of ['a', 'gone/a', 'x.ts/b']) {
              const known = [...writer.entries()].find(([, p]) => p === path)?.[0]
              expect(writer.idAt(path), `${where}, ${path}`).toBe(known)
            }
          }
        } finally {
          rmSync(root, { recursive: true, force: true })
        }
      }
    },
    30_000 + SEEDS * 200,
  )
})
