import { useEffect, useRef, useState } from 'react'
import type { ApiEvent, MeshpadBridge, NearbyDevice, NearbyDoc } from '../../../shared/api'
import { docTitle } from '../../../shared/doc-title'
import { useApiEvent } from '../use-api-event'
import { DeviceId, ErrorText, plural, settle, useRequest } from './common'

/** A join asked from the list: waiting for the owner, or the reason it failed. */
type JoinState = { readonly waiting: true } | { readonly waiting: false; readonly message: string }

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
  invite: initialInvite,
}: {
  api: MeshpadBridge
  onOpenDoc: (docId: string) => void
  /** An invite link the window was opened with (a meshpad:// link): ready in the Join box. */
  invite?: string
}): React.JSX.Element {
  const [devices, setDevices] = useState<readonly NearbyDevice[] | null>(null)
  const [joins, setJoins] = useState<Readonly<Record<string, JoinState>>>({})
  const list = useRequest()
  const [invite, setInvite] = useState(initialInvite ?? '')
  /** The document an invite was sent for, until its answer comes. */
  const [inviteWaiting, setInviteWaiting] = useState<string | null>(null)
  /**
   * The documents whose join answer is awaited, and how they were asked for. A ref, not state: the
   * answer may come before the render that shows the wait, and the event handler must know of it.
   */
  const awaiting = useRef(new Map<string, 'request' | 'invite'>())
  const inviteRequest = useRequest()
  const [address, setAddress] = useState('')
  const [adding, setAdding] = useState<AddState | null>(null)
  /** The address being connected to, once the node said how it reads it. */
  const pending = useRef<string | null>(null)
  /** Outcomes that came before the request's own answer, by address. */
  const early = useRef(new Map<string, PeerAdded>())
  const addRequest = useRequest()
  const { run: runList } = list

  useEffect(() => {
    let live = true
    void runList(api.nearby()).then((result) => {
      if (live && result.ok) setDevices(result.value)
    })
    return () => {
      live = false
    }
  }, [api, runList])

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
    if (event.type === 'nearby') setDevices(event.devices)
    if (event.type === 'peer-added') {
      if (pending.current === event.address) added(event)
      else early.current.set(event.address, event)
    }
    if (event.type !== 'joined') return
    const { docId, ok, message } = event
    const asked = awaiting.current.get(docId)
    awaiting.current.delete(docId)
    if (asked === 'request') {
      setJoins(({ [docId]: _, ...rest }) => (ok ? rest : { ...rest, [docId]: { waiting: false, message } }))
      if (ok) onOpenDoc(docId)
    } else if (asked === 'invite') {
      setInviteWaiting(null)
      if (ok) {
        setInvite('')
        onOpenDoc(docId)
      } else inviteRequest.setError(message)
    }
  })

  const join = async (device: string, docId: string): Promise<void> => {
    awaiting.current.set(docId, 'request')
    setJoins((j) => ({ ...j, [docId]: { waiting: true } }))
    const result = await settle(api.requestJoin(device, docId))
    if (result.ok) return
    awaiting.current.delete(docId)
    setJoins((j) => ({ ...j, [docId]: { waiting: false, message: result.message } }))
  }

  const joinWithInvite = async (): Promise<void> => {
    const code = invite.trim()
    if (!code) return
    const result = await inviteRequest.run(api.joinWithInvite(code))
    if (!result.ok) return
    awaiting.current.set(result.value, 'invite')
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
      <ErrorText message={list.error} />
      {devices === null && !list.error && <p className="hint">Looking…</p>}
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
                  onJoin={() => void join(d.device, doc.docId)}
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

function NearbyDocRow({
  doc,
  join,
  onJoin,
  onOpen,
}: {
  doc: NearbyDoc
  join: JoinState | undefined
  onJoin: () => void
  onOpen: () => void
}): React.JSX.Element {
  const title = docTitle(doc.title, null)
  return (
    <li className="nearby-doc" data-testid="nearby-doc" data-doc-id={doc.docId}>
      <div className="nearby-doc-info">
        <span className="title">{title}</span>
        <span className="meta">
          {doc.ownerName || 'Unknown owner'} · {plural(doc.memberCount, 'member', 'members')}
        </span>
        {join?.waiting && (
          <span className="join-status" data-testid="join-status" role="status">
            Asked to join — waiting for the owner
          </span>
        )}
        {join && !join.waiting && (
          <span className="join-status panel-error" data-testid="join-status" role="alert">
            {join.message}
          </span>
        )}
      </div>
      {doc.joined ? (
        <button data-testid="open-nearby-doc" onClick={onOpen} aria-label={`Open ${title}`}>
          Open
        </button>
      ) : (
        <button data-testid="join-doc" onClick={onJoin} disabled={join?.waiting} aria-label={`Join ${title}`}>
          Join
        </button>
      )}
    </li>
  )
}
