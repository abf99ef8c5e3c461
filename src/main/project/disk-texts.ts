/**
 * The texts of a project's files for FolderMirror (`FileTexts`), over their documents: the folder is
 * written with the documents' texts, and a text another program changed on disk becomes text ops of
 * a fresh "disk" replica of this device, made against the file's base (the text Meshpad last wrote
 * or read there, `FileBase`) and merged into the document as a peer's edits would be, as linked
 * files do (src/main/storage/disk-merge.ts). So what members typed since the base is kept beside the
 * change, not undone by it.
 *
 * Each file's encoding and line endings are its document's `format` property, written when the file
 * came from a disk, so that every member writes the same bytes.
 */
import type { DocSession } from '../node/doc-session'
import type { FileTexts } from '../folder/folder-mirror'
import { diskChangeBatch } from '../storage/disk-merge'
import { FILE_OPEN_PARALLEL } from '../node/project-files'
import { inParallel } from '../storage/in-parallel'
import { DEFAULT_TEXT_FORMAT, type TextFormat } from '../storage/text-format'
import type { FileBase } from './folder-links'

const ENCODINGS = new Set(['utf8', 'utf8-bom', 'utf16le', 'utf16be'])
const EOLS = new Set(['lf', 'crlf', 'verbatim'])

export interface DiskTextsDeps {
  /** A file node's document, if open. */
  file(node: string): DocSession | undefined
  /** Opens a file node's document. */
  open(node: string): Promise<DocSession>
  /** The hash of the bytes on disk for a node, as the mirror last wrote or read them. */
  hashOnDisk(node: string): string | undefined
  /** The bases of the files' merges, by node; updated here after each merge. */
  readonly bases: Map<string, FileBase>
}

export class DiskTexts implements FileTexts {
  /** Texts changed on disk, waiting to be merged (`merge`), by node. */
  private readonly changed = new Map<string, { text: string; format: TextFormat }>()
  /** The nodes whose texts `merge` is merging now. */
  private readonly merging = new Set<string>()
  /**
   * The texts read (`get`) since `startReads`, by node: each document's history length at the read.
   * A file written with a text is based on that point (FileBase.steps): the two are taken together.
   */
  private reads = new Map<string, number>()

  constructor(private readonly deps: DiskTextsDeps) {}

  get(node: string): string | undefined {
    const doc = this.deps.file(node)
    if (doc === undefined) return undefined
    this.reads.set(node, doc.durable.text.historyLength())
    return doc.text
  }

  /**
   * Names a file's text and format now: its document's count of ops (it only grows, and every change
   * of the text adds to it) and its format. Undefined while the document is not open.
   */
  stamp(node: string): string | undefined {
    const doc = this.deps.file(node)
    if (doc === undefined) return undefined
    const f = formatOf(doc)
    return `${doc.durable.text.opCount()}${f ? `:${f.encoding}:${f.eol}` : ''}`
  }

  /** Starts recording the texts read (`get`), for `takeReads`. */
  startReads(): void {
    this.reads = new Map()
  }

  /** The texts read since `startReads`: each node's history length at its read. */
  takeReads(): Map<string, number> {
    const reads = this.reads
    this.reads = new Map()
    return reads
  }

  format(node: string): TextFormat | undefined {
    return formatOf(this.deps.file(node))
  }

  set(node: string, text: string, format: TextFormat): void {
    this.changed.set(node, { text, format })
  }

  /** Whether a text changed on disk waits to be merged into the node's document, or is being merged. */
  pending(node: string): boolean {
    return this.changed.has(node) || this.merging.has(node)
  }

  /** Forgets the changes waiting (a viewer's folder: they are not the project's). */
  discard(): string[] {
    const nodes = [...this.changed.keys()]
    this.changed.clear()
    return nodes
  }

  /**
   * Merges every text changed on disk into its file's document, FILE_OPEN_PARALLEL files at once (each
   * waits for its own document's disk: a shared folder of 2,000 files, one after another, waited for
   * 2,000 opens and appends in turn).
   */
  async merge(): Promise<void> {
    const changed = [...this.changed]
    this.changed.clear()
    for (const [node] of changed) this.merging.add(node)
    await inParallel(changed, FILE_OPEN_PARALLEL, async ([node, { text, format }]) => {
      try {
        await this.mergeOne(node, text, format)
      } finally {
        this.merging.delete(node)
      }
    })
  }

  /** One text changed on disk into its file's document, and the file's base moved to it. */
  private async mergeOne(node: string, text: string, format: TextFormat): Promise<void> {
    const doc = await this.deps.open(node)
    await mergeDiskText(doc, text, this.deps.bases.get(node)?.steps)
    const current = formatOf(doc) ?? DEFAULT_TEXT_FORMAT
    if (current.encoding !== format.encoding || current.eol !== format.eol) {
      await doc.setProp('format', { encoding: format.encoding, eol: format.eol })
    }
    const hash = this.deps.hashOnDisk(node)
    if (hash !== undefined) this.deps.bases.set(node, { hash, steps: doc.durable.text.historyLength() })
  }
}

/**
 * `text`, read from disk, into the document: the change from the base (the first `baseSteps` of its
 * history; the document as it is, without one) as ops of a new disk replica.
 */
export async function mergeDiskText(doc: DocSession, text: string, baseSteps?: number): Promise<void> {
  if (doc.text === text) return
  const live = doc.durable.text
  const length = live.historyLength()
  const steps = baseSteps !== undefined && baseSteps <= length ? baseSteps : length
  // The last merge's replica, unless some of its ops came after the base (a merge of a later text not
  // written to the folder yet): ops made from the base would not follow them. Its binding goes into the
  // log with its ops (one write, one fsync): the folder's base names no replica, so a merge cut short
  // by a crash is merged again from the file at the next start.
  const replica = await doc.takeDiskReplica((r) => live.seenAfter(steps, r) === live.seenOf(r), false)
  const fork = live.forkAfter(steps, replica)
  await doc.applyLocalBatch(diskChangeBatch(fork, text, live.version()), true)
  doc.diskMerged(replica)
}

function formatOf(doc: DocSession | undefined): TextFormat | undefined {
  const value = doc?.durable.props.get('format')
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const { encoding, eol } = value as { encoding?: unknown; eol?: unknown }
  if (typeof encoding !== 'string' || typeof eol !== 'string') return undefined
  if (!ENCODINGS.has(encoding) || !EOLS.has(eol)) return undefined
  return { encoding, eol } as TextFormat
}
