import { useEffect, useState } from 'react'
import { FilePlus, FileText, FolderGit2, FolderInput, FolderOpen, FolderSync, Users } from 'lucide-react'
import type { DocSummary, MeshpadBridge, ProjectSummary } from '../../shared/api'
import { docTitle } from '../../shared/doc-title'
import { NearbyDocRow, useNearbyDocs } from './panels/nearby-docs'
import { JoinProjectDialog, ShareFolderDialog } from './project/FolderDialogs'

/**
 * What a window shows before it has a document: a new one, a file to open, the documents this device
 * holds (its own, files it opened, documents joined from others) and the documents nearby devices share.
 * Each list says what to do when it is empty. Folders are shared from here, and projects joined into
 * one (issue 15); the projects on this device are listed above the documents.
 */
export function StartScreen({
  api,
  onOpen,
  onNew,
  onOpenFile,
  onOpenProject,
}: {
  api: MeshpadBridge
  onOpen: (docId: string) => void
  onOpenProject: (projectId: string) => void
  onNew: () => void
  onOpenFile: (path: string) => void
}): React.JSX.Element {
  const [docs, setDocs] = useState<DocSummary[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [path, setPath] = useState('')
  const [projects, setProjects] = useState<ProjectSummary[] | null>(null)
  const [dialog, setDialog] = useState<'share' | 'join' | null>(null)
  const nearby = useNearbyDocs(api, onOpen)
  const shared = (nearby.devices ?? []).flatMap((d) => d.docs.map((doc) => ({ device: d, doc })))
  useEffect(() => {
    let live = true
    void api.listDocuments().then((result) => {
      if (!live) return
      if (result.ok) setDocs(result.value)
      else setError(result.message)
    })
    void api.listProjects().then((result) => live && result.ok && setProjects(result.value))
    return () => {
      live = false
    }
  }, [api])
  const p = path.trim()
  return (
    <div className="start" data-testid="start">
      <div className="start-inner">
        <div className="start-brand">
          <Users size={26} />
          <h1>Meshpad</h1>
        </div>
        <p className="hint">Edit a text file together with people on your network. No server, no account.</p>
        <div className="start-actions">
          <button className="primary" data-testid="start-new" onClick={onNew}>
            <FilePlus size={16} />
            New document
          </button>
          <form
            className="start-open"
            onSubmit={(e) => {
              e.preventDefault()
              if (p) onOpenFile(p)
            }}
          >
            <input
              data-testid="start-open-path"
              aria-label="Path of a file to open"
              placeholder="/home/you/notes.md"
              value={path}
              spellCheck={false}
              onChange={(e) => setPath(e.target.value)}
            />
            <button type="submit" data-testid="start-open" disabled={!p}>
              <FolderOpen size={16} />
              Open file
            </button>
          </form>
        </div>
        <div className="start-actions">
          <button data-testid="start-share-folder" onClick={() => setDialog('share')}>
            <FolderSync size={16} />
            Share a folder
          </button>
          <button data-testid="start-join-project" onClick={() => setDialog('join')}>
            <FolderInput size={16} />
            Open a project
          </button>
        </div>
        {dialog === 'share' && (
          <ShareFolderDialog api={api} onShared={onOpenProject} onCancel={() => setDialog(null)} />
        )}
        {dialog === 'join' && (
          <JoinProjectDialog api={api} onJoined={onOpenProject} onCancel={() => setDialog(null)} />
        )}

        {projects !== null && projects.length > 0 && (
          <>
            <h2 id="start-projects">Shared folders</h2>
            <ul className="doc-list" data-testid="project-list" aria-labelledby="start-projects">
              {projects.map((pr) => (
                <li key={pr.projectId}>
                  <button onClick={() => onOpenProject(pr.projectId)} title={pr.dir}>
                    <FolderGit2 size={18} />
                    <span className="doc-text">
                      <span className="title">{pr.title}</span>
                      <span className="meta">
                        {pr.dir} · {pr.role ?? 'member'}
                      </span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </>
        )}

        <h2 id="start-recent">Recent documents</h2>
        {error && <p role="alert">{error}</p>}
        {docs === null && !error && <p className="hint">Loading…</p>}
        {docs?.length === 0 && (
          <p className="empty">
            None yet: create one, or open a file. Documents you open or join stay listed here, with their
            history.
          </p>
        )}
        <ul className="doc-list" data-testid="doc-list" aria-labelledby="start-recent">
          {docs?.map((d) => (
            <li key={d.docId}>
              <button onClick={() => onOpen(d.docId)} title={d.path ?? d.docId}>
                <FileText size={18} />
                <span className="doc-text">
                  <span className="title">{docTitle(d.title, d.path)}</span>
                  <span className="meta">{d.path ?? `Kept in Meshpad · ${d.role ?? 'member'}`}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>

        <h2 id="start-nearby">Shared nearby</h2>
        {nearby.error && <p role="alert">{nearby.error}</p>}
        {nearby.devices === null && !nearby.error && <p className="hint">Looking…</p>}
        {nearby.devices !== null && shared.length === 0 && (
          <p className="empty" data-testid="start-nearby-empty">
            Nothing shared nearby yet. Documents that people on this network share (Share › Share on LAN)
            appear here; you can also join with an invite link in Nearby.
          </p>
        )}
        {shared.length > 0 && (
          <ul className="start-nearby" data-testid="start-nearby" aria-labelledby="start-nearby">
            {shared.map(({ device, doc }) => (
              <NearbyDocRow
                key={doc.docId}
                doc={doc}
                join={nearby.joins[doc.docId]}
                onJoin={() => nearby.join(device.device, doc.docId)}
                onOpen={() => onOpen(doc.docId)}
              />
            ))}
          </ul>
        )}
      </div>
    </div>
  )
}
