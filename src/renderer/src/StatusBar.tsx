import { useSyncExternalStore } from 'react'
import type { DocStatus } from '../../shared/api'
import type { CursorStore } from './cursor-store'

function CursorField({ store }: { store: CursorStore }): React.JSX.Element {
  const { line, column } = useSyncExternalStore(store.subscribe, store.get)
  return (
    <span data-testid="cursor">
      Ln {line}, Col {column}
    </span>
  )
}

/** What the sync part of the status bar says: progress while catching up, else the steady state. */
export function syncLabel(status: DocStatus): string {
  if (status.syncing) {
    // A joined document before its first sync, with no peer connected to sync it with yet.
    if (status.peers === 0) return 'Not synced yet'
    return status.progress !== null ? `Syncing ${Math.floor(status.progress * 100)}%` : 'Syncing…'
  }
  return status.peers > 0 ? 'Up to date' : 'Local only'
}

export function StatusBar({
  opening,
  file,
  status,
  cursor,
  host,
  editing,
  language,
  inFolder = false,
}: {
  /** Whether an editor is shown (a document, or the scratch editor with no node). */
  editing: boolean
  /** A document is opening: the editor does not show it yet. */
  opening: boolean
  /** The document's file (its path), else its name. */
  file: string
  status: DocStatus | null
  cursor: CursorStore
  host: string
  /** The document's language picker, while a document is open. */
  language?: React.ReactNode
  /** A file of a shared folder: written to the folder as people type, never saved by hand. */
  inFolder?: boolean
}): React.JSX.Element {
  return (
    <footer className="status-bar" data-testid="status-bar">
      <span data-testid="file" title={file}>
        {file}
      </span>
      {status && (
        <span data-testid="saved">
          {inFolder
            ? 'Written to the folder'
            : status.path === null
              ? 'Kept in Meshpad'
              : status.saved
                ? 'Saved'
                : 'Unsaved'}
        </span>
      )}
      <span className="spacer" />
      {status && (
        <>
          <span data-testid="online">{status.online ? 'Online' : 'Offline'}</span>
          <span data-testid="peers">
            {status.peers} {status.peers === 1 ? 'peer' : 'peers'}
          </span>
          <span data-testid="sync" className={status.syncing || opening ? 'syncing' : undefined}>
            {opening ? 'Opening…' : syncLabel(status)}
            {!opening && status.syncing && status.progress !== null && (
              <progress max={1} value={status.progress} aria-label="Sync progress" />
            )}
          </span>
        </>
      )}
      {language}
      {editing && <CursorField store={cursor} />}
      <span>{host}</span>
    </footer>
  )
}
