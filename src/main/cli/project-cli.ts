/**
 * `meshpad peer --folder DIR`: the headless peer on a project. The first time, DIR is shared as a new
 * project (every folder and text file in it), or, with `--invite`, the project is joined into it; the
 * folder is linked to the project in the data dir, so later starts take it up again (an invite given
 * then is not used). The folder is kept in step with the project both ways while the peer runs
 * (src/main/project). `ls` lists the project, `open <path>` picks the file the editing commands act on.
 */
import { mkdir } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import type { DocSession } from '../node/doc-session'
import type { PeerNode } from '../node/peer-node'
import type { Workspace } from '../node/workspace'
import { CLI_JOIN, readInvite, requireInviteKind } from '../hosts/invite-text'
import { FolderLinks } from '../project/folder-links'
import { firstSync, ProjectFolder } from '../project/project-folder'
import { displayLabel } from '../../shared/display-text'
import { CommandError } from './commands'

/** How long a start waits to be let into the project, and then for its first sync. */
const JOIN_TIMEOUT_MS = 30_000
const FIRST_SYNC_TIMEOUT_MS = 30_000

export class ProjectCli {
  private opened: { path: string; doc: DocSession } | null = null
  /** Removes the guard that keeps the open file's document open (Workspace.addCloseGuard). */
  private readonly unguard: () => void

  private constructor(
    private readonly folder: ProjectFolder,
    readonly dir: string,
    private readonly workspace: Workspace,
  ) {
    this.unguard = workspace.addCloseGuard((doc) => doc !== this.opened?.doc)
  }

  static async start(
    node: PeerNode,
    folder: string,
    dataDir: string,
    invite: string | undefined,
    out: (line: string) => void,
  ): Promise<ProjectCli> {
    const dir = resolve(folder)
    await mkdir(dir, { recursive: true })
    const log = (m: string): void => out(`log: ${displayLabel(m)}`)
    const links = await FolderLinks.open(dataDir, log)
    const ws = node.workspace
    const linked = await links.projectOf(dir)
    let project: DocSession
    let share = false
    if (linked !== undefined) {
      await node.docsOpened
      project = await ws.openDoc(linked)
    } else if (invite !== undefined) {
      project = await join(node, invite)
      await links.link(dir, project.docId)
    } else {
      project = await ws.createDoc(basename(dir))
      await links.link(dir, project.docId)
      share = true
    }
    const bases = await links.bases(dir)
    const projectFolder = await ProjectFolder.start(
      { workspace: ws, project, dir, bases, saveBases: (b) => links.saveBases(dir, b), log },
      share,
    )
    return new ProjectCli(projectFolder, dir, ws)
  }

  get project(): DocSession {
    return this.folder.project
  }

  /** The open file's document. */
  get current(): DocSession {
    if (!this.opened) throw new CommandError('no file is open: open <path> first (see ls)')
    return this.opened.doc
  }

  ls(): string[] {
    return this.folder.list().map((e) => (e.kind === 'folder' ? `${e.path}/` : e.path))
  }

  async open(path: string): Promise<void> {
    const doc = await this.folder.openPath(path)
    if (!doc) throw new CommandError(`the project has no file ${displayLabel(path)}; see ls`)
    this.opened = { path, doc }
  }

  flush(): Promise<void> {
    return this.folder.flushNow()
  }

  status(device: string, port: number): string {
    const p = this.project
    const files = this.folder.list().filter((e) => e.kind === 'file').length
    const inUse = this.workspace.filesOf(p.docId).length
    const open = this.opened ? ` open ${this.opened.path} length ${this.opened.doc.text.length}` : ''
    return (
      `project ${p.docId} "${displayLabel(p.title)}" role ${p.myRole ?? 'none'} files ${files} (${inUse} open)` +
      `${open} peers ${p.peers().length} device ${device} port ${port}`
    )
  }

  close(): Promise<void> {
    this.unguard()
    return this.folder.close()
  }
}

/** Joins the project of an invite; resolves with it once its first sync is done. */
async function join(node: PeerNode, code: string): Promise<DocSession> {
  const invite = readInvite(code)
  requireInviteKind(invite, 'project', CLI_JOIN)
  const ws = node.workspace
  const result = new Promise<DocSession>((resolveJoin, reject) => {
    const timer = setTimeout(() => {
      ws.off('join-result', onResult)
      reject(new Error('no answer to the invite: is the device that made it running and reachable?'))
    }, JOIN_TIMEOUT_MS)
    const onResult = (docId: string, ok: boolean, reason: string): void => {
      if (docId !== invite.docId) return
      clearTimeout(timer)
      ws.off('join-result', onResult)
      const doc = ok ? ws.doc(docId) : undefined
      if (doc) resolveJoin(doc)
      else reject(new Error(`could not join the project: ${reason}`))
    }
    ws.on('join-result', onResult)
  })
  await node.joinWithInvite(invite)
  const project = await result
  // The tree first: the folder is then taken up against the project's files, not beside them.
  await firstSync(project, FIRST_SYNC_TIMEOUT_MS)
  return project
}
