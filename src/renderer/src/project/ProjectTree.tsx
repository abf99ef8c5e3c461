import { useEffect, useMemo, useRef, useState } from 'react'
import {
  ChevronDown,
  ChevronRight,
  FilePlus,
  FileText,
  Folder,
  FolderPlus,
  Pencil,
  Trash2,
} from 'lucide-react'
import type {
  DeletedEntry,
  DocRole,
  MeshpadBridge,
  NotSharedFile,
  ProjectEntry,
  ProjectPresence,
} from '../../../shared/api'
import { Deleted } from './Deleted'
import { NotShared } from './NotShared'
import { DeleteDialog } from './DeleteDialog'
import { EntryForm, type EntryEdit } from './EntryForm'
import { foldersHolding, treeRows, visitorsByFolder, type TreeRow } from './tree-rows'

/** The drag's payload type: a tree node of this window's project. */
const DRAG_TYPE = 'application/x-meshpad-node'

/**
 * The file-tree sidebar of a project window (ARIA tree, flat: each row a treeitem with its level).
 * One row is in the tab order; arrows move, Right/Left open and close folders, Enter opens a file,
 * F2 renames, Delete deletes (after asking). New file, new folder, rename and delete are also buttons
 * above the tree, acting on the selected row; a row can be dragged onto a folder (or the empty space
 * below the rows, for the top). Each person in a file shows as their colour on its row, live.
 */
export function ProjectTree({
  api,
  projectId,
  title,
  entries,
  presence,
  away,
  notShared,
  deleted,
  activeNode,
  role,
  onOpen,
  onError,
}: {
  api: MeshpadBridge
  projectId: string
  title: string
  entries: readonly ProjectEntry[]
  presence: ProjectPresence
  /** Files others changed while this device was away, not opened here since. */
  away: ReadonlySet<string>
  /** Files in this device's folder that the project leaves out. */
  notShared: readonly NotSharedFile[]
  /** What was deleted, latest first (each can be put back). */
  deleted: readonly DeletedEntry[]
  /** The file shown in the editor. */
  activeNode: string | null
  /** This device's role in the project: null once an owner removed it (the window says so). */
  role: DocRole | null
  onOpen: (node: string) => void
  onError: (message: string | null) => void
}): React.JSX.Element {
  const canEdit = role === 'owner' || role === 'editor'
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set())
  const [selected, setSelected] = useState<string | null>(null)
  const [edit, setEdit] = useState<EntryEdit | null>(null)
  const [deleting, setDeleting] = useState<TreeRow | null>(null)
  const [dropOn, setDropOn] = useState<string | null>(null)
  const list = useRef<HTMLUListElement>(null)
  /** Set by a key in the tree: the selected row takes the focus (a click or an event does not move it). */
  const focusSelected = useRef(false)
  const rows = useMemo(() => treeRows(entries, expanded), [entries, expanded])
  const inFolders = useMemo(() => visitorsByFolder(entries, presence), [entries, presence])
  const awayFolders = useMemo(() => foldersHolding(entries, away), [entries, away])
  const current = rows.find((r) => r.node === selected) ?? null
  // The row in the tab order: the selected one, else the open file's, else the first.
  const tabStop = current?.node ?? rows.find((r) => r.node === activeNode)?.node ?? rows[0]?.node ?? null

  useEffect(() => {
    if (!focusSelected.current || selected === null) return
    focusSelected.current = false
    list.current?.querySelector<HTMLElement>(`[data-node="${CSS.escape(selected)}"]`)?.focus()
  }, [selected, rows])

  const toggle = (node: string, open?: boolean): void =>
    setExpanded((prev) => {
      const next = new Set(prev)
      if (open ?? !prev.has(node)) next.add(node)
      else next.delete(node)
      return next
    })

  const activate = (row: TreeRow): void => {
    setSelected(row.node)
    if (row.kind === 'folder') toggle(row.node)
    else onOpen(row.node)
  }

  const request = async (r: Promise<{ ok: boolean; message?: string }>): Promise<boolean> => {
    const result = await r
    onError(result.ok ? null : (result.message ?? 'That did not work.'))
    return result.ok
  }

  /** Where a new file or folder goes: into the selected folder, else beside the selected file. */
  const newParent = (): string | null =>
    current === null ? null : current.kind === 'folder' ? current.node : current.parent

  const move = (node: string, parent: string | null): void => {
    if (node === parent) return
    if (parent !== null) toggle(parent, true)
    void request(api.moveEntry(projectId, node, parent))
  }

  const onKeyDown = (e: React.KeyboardEvent, row: TreeRow): void => {
    const i = rows.indexOf(row)
    const go = (to: TreeRow | undefined): void => {
      if (!to) return
      focusSelected.current = true
      setSelected(to.node)
    }
    switch (e.key) {
      case 'ArrowDown':
        go(rows[i + 1])
        break
      case 'ArrowUp':
        go(rows[i - 1])
        break
      case 'Home':
        go(rows[0])
        break
      case 'End':
        go(rows.at(-1))
        break
      case 'ArrowRight':
        if (row.kind !== 'folder') return
        if (!row.expanded) toggle(row.node, true)
        else go(rows[i + 1]?.parent === row.node ? rows[i + 1] : undefined)
        break
      case 'ArrowLeft':
        if (row.kind === 'folder' && row.expanded) toggle(row.node, false)
        else go(rows.find((r) => r.node === row.parent))
        break
      case 'Enter':
      case ' ':
        activate(row)
        break
      case 'F2':
        if (canEdit) setEdit({ mode: 'rename', node: row.node, name: row.name })
        break
      case 'Delete':
        if (canEdit) setDeleting(row)
        break
      default:
        return
    }
    e.preventDefault()
  }

  const dragOver = (e: React.DragEvent, target: string | null): void => {
    if (!canEdit || !e.dataTransfer.types.includes(DRAG_TYPE)) return
    e.preventDefault()
    e.stopPropagation()
    e.dataTransfer.dropEffect = 'move'
    setDropOn(target ?? '')
  }
  const drop = (e: React.DragEvent, target: string | null): void => {
    const node = e.dataTransfer.getData(DRAG_TYPE)
    setDropOn(null)
    if (!node) return
    e.preventDefault()
    e.stopPropagation()
    move(node, target)
  }

  return (
    <nav className="project-tree" aria-label="Project files" data-testid="project-tree">
      <div className="tree-head">
        <h2 title={title}>{title}</h2>
        <span className="spacer" />
        <button
          className="ghost icon"
          data-testid="tree-new-file"
          aria-label="New file"
          title="New file"
          disabled={!canEdit}
          onClick={() => setEdit({ mode: 'new', parent: newParent(), kind: 'file' })}
        >
          <FilePlus size={16} />
        </button>
        <button
          className="ghost icon"
          data-testid="tree-new-folder"
          aria-label="New folder"
          title="New folder"
          disabled={!canEdit}
          onClick={() => setEdit({ mode: 'new', parent: newParent(), kind: 'folder' })}
        >
          <FolderPlus size={16} />
        </button>
        <button
          className="ghost icon"
          data-testid="tree-rename"
          aria-label={current ? `Rename ${current.name}` : 'Rename'}
          title="Rename (F2)"
          disabled={!canEdit || !current}
          onClick={() => current && setEdit({ mode: 'rename', node: current.node, name: current.name })}
        >
          <Pencil size={16} />
        </button>
        <button
          className="ghost icon"
          data-testid="tree-delete"
          aria-label={current ? `Delete ${current.name}` : 'Delete'}
          title="Delete (Del)"
          disabled={!canEdit || !current}
          onClick={() => current && setDeleting(current)}
        >
          <Trash2 size={16} />
        </button>
      </div>
      {role === 'viewer' && (
        <p className="hint tree-note">You can view this project: changes are its editors’.</p>
      )}
      {edit && (
        <EntryForm
          edit={edit}
          where={edit.mode === 'new' ? (rows.find((r) => r.node === edit.parent)?.path ?? null) : null}
          onSubmit={async (name) => {
            if (edit.mode === 'rename') return request(api.renameEntry(projectId, edit.node, name))
            const made = await api.createEntry(projectId, edit.parent, name, edit.kind)
            onError(made.ok ? null : made.message)
            if (!made.ok) return false
            if (edit.parent !== null) toggle(edit.parent, true)
            setSelected(made.value)
            if (edit.kind === 'file') onOpen(made.value)
            return true
          }}
          onDone={() => {
            setEdit(null)
            // Back to the tree, on the row acted on (once the form is gone and the rows are made).
            requestAnimationFrame(() =>
              list.current?.querySelector<HTMLElement>('[role=treeitem][tabindex="0"]')?.focus(),
            )
          }}
        />
      )}
      {/* A tree must hold treeitems: with no rows there is only the note below. */}
      <ul
        ref={list}
        role={rows.length > 0 ? 'tree' : undefined}
        aria-label={`Files of ${title}`}
        className={dropOn === '' ? 'tree drop-target' : 'tree'}
        data-testid="file-tree"
        onDragOver={(e) => dragOver(e, null)}
        onDragLeave={() => setDropOn(null)}
        onDrop={(e) => drop(e, null)}
      >
        {rows.map((row) => {
          // A file shows who is in it; a collapsed folder, who is in a file somewhere inside it.
          const people =
            row.kind === 'file'
              ? (presence[row.node] ?? [])
              : row.expanded
                ? []
                : (inFolders.get(row.node) ?? [])
          const target = row.kind === 'folder' ? row.node : row.parent
          // Changed while away: the file, or a collapsed folder with such a file inside it.
          const changed =
            row.kind === 'file' ? away.has(row.node) : !row.expanded && awayFolders.has(row.node)
          return (
            <li
              key={row.node}
              role="treeitem"
              aria-level={row.depth + 1}
              aria-expanded={row.kind === 'folder' ? row.expanded : undefined}
              aria-selected={row.node === selected}
              aria-current={row.node === activeNode ? 'page' : undefined}
              tabIndex={row.node === tabStop ? 0 : -1}
              className={[
                'tree-row',
                row.node === activeNode ? 'active' : '',
                dropOn === row.node ? 'drop-target' : '',
              ].join(' ')}
              style={{ paddingLeft: `calc(${row.depth} * 14px + var(--space-2))` }}
              data-testid="tree-item"
              data-node={row.node}
              data-path={row.path}
              draggable={canEdit}
              onDragStart={(e) => {
                e.dataTransfer.setData(DRAG_TYPE, row.node)
                e.dataTransfer.effectAllowed = 'move'
              }}
              onDragOver={(e) => dragOver(e, target)}
              onDrop={(e) => drop(e, target)}
              // One selection, which follows the focus: the buttons above act on the row the keys are on.
              onFocus={() => setSelected(row.node)}
              onClick={() => activate(row)}
              onKeyDown={(e) => onKeyDown(e, row)}
            >
              {row.kind === 'folder' ? (
                row.expanded ? (
                  <ChevronDown size={14} aria-hidden />
                ) : (
                  <ChevronRight size={14} aria-hidden />
                )
              ) : (
                <span className="tree-spacer" />
              )}
              {row.kind === 'folder' ? <Folder size={15} aria-hidden /> : <FileText size={15} aria-hidden />}
              <span className="tree-name">{row.name}</span>
              {changed && (
                <span
                  className="tree-away"
                  data-testid="tree-away"
                  title={
                    row.kind === 'file'
                      ? 'Changed while you were away'
                      : 'A file in here changed while you were away'
                  }
                >
                  <span className="visually-hidden">
                    {row.kind === 'file'
                      ? ', changed while you were away'
                      : ', a file in here changed while you were away'}
                  </span>
                </span>
              )}
              {people.length > 0 && (
                <span className="tree-people" data-testid="tree-people">
                  {people.map((p) => (
                    <span
                      key={p.device}
                      className="tree-badge"
                      data-testid="tree-badge"
                      data-device={p.device}
                      title={
                        row.kind === 'file' ? `${p.name} is in this file` : `${p.name} is in a file in here`
                      }
                      style={{ backgroundColor: p.color }}
                      aria-hidden
                    >
                      {p.name.slice(0, 1).toUpperCase()}
                    </span>
                  ))}
                  <span className="visually-hidden">
                    {`, ${people.map((p) => p.name).join(' and ')} ${people.length === 1 ? 'is' : 'are'} ${row.kind === 'file' ? 'here' : 'in a file here'}`}
                  </span>
                </span>
              )}
            </li>
          )
        })}
      </ul>
      <NotShared files={notShared} />
      <Deleted
        entries={deleted}
        canRestore={canEdit}
        onRestore={(node) => void request(api.restoreEntry(projectId, node))}
      />
      {rows.length === 0 && (
        <p className="hint tree-empty">No files yet{canEdit ? ': make one with New file.' : '.'}</p>
      )}
      {deleting && (
        <DeleteDialog
          row={deleting}
          onCancel={() => setDeleting(null)}
          onDelete={async () => {
            if (await request(api.deleteEntry(projectId, deleting.node))) setDeleting(null)
          }}
        />
      )}
    </nav>
  )
}
