import { useEffect, useRef, useState } from 'react'
import type { MeshpadBridge, NearbyDevice, NearbyDoc } from '../../../shared/api'
import { docTitle } from '../../../shared/doc-title'
import { useApiEvent } from '../use-api-event'
import { plural, settle, useRequest } from './common'

/** A join asked from the list: waiting for the owner, or the reason it failed. */
export type JoinState = { readonly waiting: true } | { readonly waiting: false; readonly message: string }

/**
 * The devices on the network running Meshpad and the documents they share, kept live, and joining one
 * of them (its owner is asked; `onJoined` hears each document joined). The Nearby panel and the start
 * screen both show this list.
 */
export function useNearbyDocs(
  api: MeshpadBridge,
  onJoined: (docId: string) => void,
): {
  /** Null until the first answer. */
  readonly devices: readonly NearbyDevice[] | null
  readonly error: string | null
  readonly joins: Readonly<Record<string, JoinState>>
  readonly join: (device: string, docId: string) => void
} {
  const [devices, setDevices] = useState<readonly NearbyDevice[] | null>(null)
  const [joins, setJoins] = useState<Readonly<Record<string, JoinState>>>({})
  /**
   * The documents whose join answer is awaited. A ref, not state: the answer may come before the
   * render that shows the wait, and the event handler must know of it.
   */
  const awaiting = useRef(new Set<string>())
  const { error, run } = useRequest()

  useEffect(() => {
    let live = true
    void run(api.nearby()).then((result) => {
      if (live && result.ok) setDevices(result.value)
    })
    return () => {
      live = false
    }
  }, [api, run])

  useApiEvent(api, (event) => {
    if (event.type === 'nearby') setDevices(event.devices)
    if (event.type !== 'joined' || !awaiting.current.delete(event.docId)) return
    const { docId, ok, message } = event
    setJoins(({ [docId]: _, ...rest }) => (ok ? rest : { ...rest, [docId]: { waiting: false, message } }))
    if (ok) onJoined(docId)
  })

  const join = (device: string, docId: string): void => {
    awaiting.current.add(docId)
    setJoins((j) => ({ ...j, [docId]: { waiting: true } }))
    void settle(api.requestJoin(device, docId)).then((result) => {
      if (result.ok) return
      awaiting.current.delete(docId)
      setJoins((j) => ({ ...j, [docId]: { waiting: false, message: result.message } }))
    })
  }

  return { devices, error, joins, join }
}

/** One shared document in a nearby list: its name, owner and members, and Join (or Open if joined). */
export function NearbyDocRow({
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
        <button
          className="primary"
          data-testid="join-doc"
          onClick={onJoin}
          disabled={join?.waiting}
          aria-label={`Join ${title}`}
        >
          Join
        </button>
      )}
    </li>
  )
}
