import { useState } from 'react'
import { FolderOpen } from 'lucide-react'
import type { FolderPurpose, MeshpadBridge } from '../../../shared/api'
import { isBrowserMode } from '../bridge'
import { useApiEvent } from '../use-api-event'
import { Modal } from './Modal'

/**
 * The start screen's "Share a folder" and "Open a project" (join one by invite, into a folder of
 * yours). The folder is typed in browser mode (a web page cannot pick a folder on this machine's
 * disk); on the desktop "Choose…" opens the system's folder dialog.
 */
export function ShareFolderDialog({
  api,
  onShared,
  onCancel,
}: {
  api: MeshpadBridge
  onShared: (projectId: string) => void
  onCancel: () => void
}): React.JSX.Element {
  const [path, setPath] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const p = path.trim()
  const share = async (): Promise<void> => {
    setBusy(true)
    const result = await api.shareFolder(p)
    setBusy(false)
    if (result.ok) onShared(result.value.projectId)
    else setError(result.message)
  }
  return (
    <Modal title="Share a folder" testId="share-folder-dialog" onCancel={onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (p && !busy) void share()
        }}
      >
        <p className="hint">
          Every folder and text file in it becomes a project that the people you invite edit with you. Each of
          them keeps a copy in a folder of their own, kept in step both ways. Binary files and files over the
          size limit are listed in the log and left out.
        </p>
        <FolderField api={api} purpose="share" value={path} onChange={setPath} testId="share-folder-path" />
        <FormEnd
          error={error}
          testId="share-folder"
          onCancel={onCancel}
          submit={busy ? 'Sharing…' : 'Share'}
          disabled={!p || busy}
        />
      </form>
    </Modal>
  )
}

export function JoinProjectDialog({
  api,
  invite: initialInvite,
  onJoined,
  onCancel,
}: {
  api: MeshpadBridge
  /** An invite to start with (one pasted in Nearby that turned out to be a shared folder's). */
  invite?: string
  onJoined: (projectId: string) => void
  onCancel: () => void
}): React.JSX.Element {
  const [invite, setInvite] = useState(initialInvite ?? '')
  const [path, setPath] = useState('')
  const [error, setError] = useState<string | null>(null)
  /** The project asked to join, while waiting for the answer. */
  const [waiting, setWaiting] = useState<string | null>(null)
  const p = path.trim()
  const code = invite.trim()
  useApiEvent(api, (event) => {
    if (event.type !== 'project-joined' || event.projectId !== waiting) return
    setWaiting(null)
    if (event.ok) onJoined(event.projectId)
    else setError(event.message)
  })
  const join = async (): Promise<void> => {
    setError(null)
    const result = await api.joinProject(code, p)
    if (result.ok) setWaiting(result.value)
    else setError(result.message)
  }
  return (
    <Modal title="Open a project" testId="join-project-dialog" onCancel={onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (code && p && waiting === null) void join()
        }}
      >
        <p className="hint">
          Paste the invite you were sent, and choose the folder to keep the project in: its files are written
          there, and what you change there is shared.
        </p>
        <label>
          <span>Invite</span>
          <input
            data-testid="join-project-invite"
            value={invite}
            spellCheck={false}
            placeholder="meshpad://join/…"
            onChange={(e) => setInvite(e.target.value)}
          />
        </label>
        <FolderField api={api} purpose="join" value={path} onChange={setPath} testId="join-project-path" />
        {waiting !== null && (
          <p role="status" className="hint" data-testid="join-project-waiting">
            Asking to join, then writing the project’s files to the folder…
          </p>
        )}
        <FormEnd
          error={error}
          testId="join-project"
          onCancel={onCancel}
          submit="Join"
          disabled={!code || !p || waiting !== null}
        />
      </form>
    </Modal>
  )
}

/** A dialog form's end: its error, if any, then Cancel and the submit button (`<testId>-confirm`). */
function FormEnd({
  error,
  testId,
  onCancel,
  submit,
  disabled,
}: {
  error: string | null
  testId: string
  onCancel: () => void
  submit: string
  disabled: boolean
}): React.JSX.Element {
  return (
    <>
      {error && (
        <p role="alert" className="panel-error" data-testid={`${testId}-error`}>
          {error}
        </p>
      )}
      <div className="modal-buttons">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid={`${testId}-confirm`} disabled={disabled}>
          {submit}
        </button>
      </div>
    </>
  )
}

/** A folder's path: typed, or (desktop) chosen with the system's dialog. */
function FolderField({
  api,
  purpose,
  value,
  onChange,
  testId,
}: {
  api: MeshpadBridge
  purpose: FolderPurpose
  value: string
  onChange: (path: string) => void
  testId: string
}): React.JSX.Element {
  const canPick = !isBrowserMode()
  return (
    <label>
      <span>Folder</span>
      <span className="folder-field">
        <input
          data-testid={testId}
          value={value}
          spellCheck={false}
          placeholder="/home/you/project"
          onChange={(e) => onChange(e.target.value)}
        />
        {canPick && (
          <button
            type="button"
            onClick={() =>
              void api.pickFolder(purpose).then((r) => {
                if (r.ok && r.value !== null) onChange(r.value)
              })
            }
          >
            <FolderOpen size={16} />
            Choose…
          </button>
        )}
      </span>
    </label>
  )
}
