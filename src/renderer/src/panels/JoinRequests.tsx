import { useEffect, useState } from 'react'
import type { JoinRequestInfo, MeshpadBridge } from '../../../shared/api'
import { docTitle } from '../../../shared/doc-title'
import { useApiEvent } from '../use-api-event'
import { DeviceId, ErrorText, GuestRoleSelect, settle } from './common'

/** Adds the requests not already listed (the node re-sends every pending request with each new one). */
const merge = (
  list: readonly JoinRequestInfo[],
  more: readonly JoinRequestInfo[],
): readonly JoinRequestInfo[] => {
  const seen = new Set(list.map((r) => r.id))
  const fresh = more.filter((r) => !seen.has(r.id) && seen.add(r.id))
  return fresh.length === 0 ? list : [...list, ...fresh]
}

/** Notifications, bottom-right over the editor, for people asking to join a document this device owns. */
export function JoinRequests({ api }: { api: MeshpadBridge }): React.JSX.Element | null {
  const [requests, setRequests] = useState<readonly JoinRequestInfo[]>([])
  const [loadError, setLoadError] = useState<string | null>(null)

  useEffect(() => {
    let live = true
    void settle(api.joinRequests()).then((result) => {
      if (!live) return
      if (result.ok) setRequests((list) => merge(list, result.value))
      else setLoadError(result.message)
    })
    return () => {
      live = false
    }
  }, [api])

  useApiEvent(api, (event) => {
    if (event.type === 'join-request') setRequests((list) => merge(list, [event.request]))
    if (event.type === 'join-answered') setRequests((list) => list.filter((r) => r.id !== event.id))
  })

  const remove = (id: string): void => setRequests((list) => list.filter((r) => r.id !== id))

  if (requests.length === 0 && !loadError) return null
  return (
    <aside className="join-requests" aria-label="Join requests">
      {loadError && (
        <div className="join-request" role="alert">
          <ErrorText message={loadError} />
          <button onClick={() => setLoadError(null)}>Dismiss</button>
        </div>
      )}
      {requests.map((r) => (
        <JoinRequestCard key={r.id} api={api} request={r} onDone={() => remove(r.id)} />
      ))}
    </aside>
  )
}

function JoinRequestCard({
  api,
  request,
  onDone,
}: {
  api: MeshpadBridge
  request: JoinRequestInfo
  onDone: () => void
}): React.JSX.Element {
  const [role, setRole] = useState<'editor' | 'viewer'>('editor')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  const answer = async (accept: boolean): Promise<void> => {
    setBusy(true)
    const result = await settle(api.answerJoin(request.id, accept, role))
    setBusy(false)
    if (result.ok) onDone()
    else setError(result.message)
  }

  return (
    <div className="join-request" role="alert" data-testid="join-request" data-request-id={request.id}>
      <p>
        <strong>{request.name || 'Someone'}</strong> (<DeviceId id={request.deviceId} />) asks to join{' '}
        {`“${docTitle(request.docTitle, null)}”`}
      </p>
      <div className="panel-row">
        <GuestRoleSelect value={role} onChange={setRole} testId="join-role" />
        <span className="spacer" />
        <button data-testid="join-deny" disabled={busy} onClick={() => void answer(false)}>
          Deny
        </button>
        <button
          data-testid="join-accept"
          className="primary"
          disabled={busy}
          onClick={() => void answer(true)}
        >
          Accept
        </button>
      </div>
      {error && (
        <>
          <ErrorText message={error} />
          <button data-testid="join-dismiss" onClick={onDone}>
            Dismiss
          </button>
        </>
      )}
    </div>
  )
}
