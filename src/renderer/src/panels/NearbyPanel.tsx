import { useRef, useState } from 'react'
import type { ApiEvent, MeshpadBridge } from '../../../shared/api'
import { useApiEvent } from '../use-api-event'
import { DeviceId, ErrorText, useRequest } from './common'
import { NearbyDocRow, useNearbyDocs } from './nearby-docs'

/** A device added by address: connecting, or connected (a failure shows as the error). */
interface AddState {
  readonly address: string
  readonly name: string | null
  readonly connected: boolean
}
type PeerAdded = Extract<ApiEvent, { type: 'peer-added' }>

/**
 * Devices on the network running Meshpad and the documents they share: join one (the owner is asked),
 * open one already joined, join with an invite, or add a device that discovery cannot find.
 */
export function NearbyPanel({
  api,
  onOpenDoc,
  onProjectInvite,
  invite: initialInvite,
}: {
  api: MeshpadBridge
  onOpenDoc: (docId: string) => void
  /** The invite is to a shared folder: it is joined into a folder (Open a project), not here. */
  onProjectInvite: (code: string) => void
  /** An invite link the window was opened with (a meshpad:// link): ready in the Join box. */
  invite?: string
}): React.JSX.Element {
  const { devices, error: listError, joins, join } = useNearbyDocs(api, onOpenDoc)
  const [invite, setInvite] = useState(initialInvite ?? '')
  /** The document an invite was sent for, until its answer comes. */
  const [inviteWaiting, setInviteWaiting] = useState<string | null>(null)
  /**
   * The document an invite was sent for, as a ref too: its answer may come before the render that
   * shows the wait, and the event handler must know of it.
   */
  const awaitingInvite = useRef<string | null>(null)
  const inviteRequest = useRequest()
  const [address, setAddress] = useState('')
  const [adding, setAdding] = useState<AddState | null>(null)
  /** The address being connected to, once the node said how it reads it. */
  const pending = useRef<string | null>(null)
  /** Outcomes that came before the request's own answer, by address. */
  const early = useRef(new Map<string, PeerAdded>())
  const addRequest = useRequest()
  /** What the Add line says once `event` told how connecting to its address went. */
  const added = (event: PeerAdded): void => {
    pending.current = null
    if (event.ok) setAdding({ address: event.address, name: event.name, connected: true })
    else {
      setAdding(null)
      addRequest.setError(event.message)
    }
  }

  useApiEvent(api, (event) => {
    if (event.type === 'peer-added') {
      if (pending.current === event.address) added(event)
      else early.current.set(event.address, event)
    }
    if (event.type !== 'joined' || event.docId !== awaitingInvite.current) return
    awaitingInvite.current = null
    setInviteWaiting(null)
    if (event.ok) {
      setInvite('')
      onOpenDoc(event.docId)
    } else inviteRequest.setError(event.message)
  })

  const joinWithInvite = async (): Promise<void> => {
    const code = invite.trim()
    if (!code) return
    const result = await inviteRequest.run(api.joinWithInvite(code))
    if (!result.ok && result.code === 'PROJECT_INVITE') {
      inviteRequest.setError(null)
      setInvite('')
      return onProjectInvite(code)
    }
    if (!result.ok) return
    awaitingInvite.current = result.value
    setInviteWaiting(result.value)
  }

  const addPeer = async (): Promise<void> => {
    const a = address.trim()
    if (!a) return
    setAdding(null)
    pending.current = null
    early.current.clear()
    const result = await addRequest.run(api.addPeer(a))
    if (!result.ok) return
    setAddress('')
    const outcome = early.current.get(result.value)
    if (outcome) return added(outcome)
    pending.current = result.value
    setAdding({ address: result.value, name: null, connected: false })
  }

  return (
    <section className="panel nearby-panel" data-testid="nearby-panel" aria-label="Nearby">
      <h2>Nearby</h2>
      <ErrorText message={listError} />
      {devices === null && !listError && <p className="hint">Looking…</p>}
      {devices?.length === 0 && (
        <p className="hint">No one nearby yet. Devices running Meshpad on this network appear here.</p>
      )}
      <ul className="nearby-devices">
        {devices?.map((d) => (
          <li key={d.device} className="nearby-device" data-testid="nearby-device" data-device={d.device}>
            <div className="nearby-device-head">
              <span className="name">{d.name || 'Unnamed device'}</span>
              <DeviceId id={d.deviceId} />
            </div>
            {d.docs.length === 0 && <p className="hint">Shares no documents.</p>}
            <ul className="nearby-docs">
              {d.docs.map((doc) => (
                <NearbyDocRow
                  key={doc.docId}
                  doc={doc}
                  join={joins[doc.docId]}
                  onJoin={() => join(d.device, doc.docId)}
                  onOpen={() => onOpenDoc(doc.docId)}
                />
              ))}
            </ul>
          </li>
        ))}
      </ul>

      <h3>Join with invite</h3>
      <div className="panel-row">
        <input
          data-testid="invite-input"
          aria-label="Invite code or link"
          placeholder="Invite code or meshpad:// link"
          value={invite}
          spellCheck={false}
          onChange={(e) => setInvite(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') void joinWithInvite()
          }}
        />
        <button
          data-testid="invite-join"
          disabled={!invite.trim() || inviteWaiting !== null}
          onClick={() => void joinWithInvite()}
        >
          Join
        </button>
      </div>
      {inviteWaiting !== null && (
        <p className="hint" role="status" data-testid="invite-status">
          Waiting for the inviter…
        </p>
      )}
      <ErrorText message={inviteRequest.error} />

      <h3>Add device by address</h3>
      <div className="panel-row">
        <input
          data-testid="add-address"
          aria-label="Device address (host:port)"
          placeholder="192.168.1.20:45123"
          value={address}
          spellCheck={false}
          onChange={(e) => setAddress(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') void addPeer()
          }}
        />
        <button data-testid="add-peer" disabled={!address.trim()} onClick={() => void addPeer()}>
          Add
        </button>
      </div>
      {adding && (
        <p className="hint" role="status" data-testid="add-status">
          {adding.connected
            ? `Connected to ${adding.name || 'a device'} (${adding.address}).`
            : `Connecting to ${adding.address}…`}
        </p>
      )}
      <ErrorText message={addRequest.error} />
    </section>
  )
}
