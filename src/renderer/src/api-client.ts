/**
 * Browser mode's side of the app API: `MeshpadBridge` over the WebSocket that `meshpad serve` offers
 * (src/main/hosts/web-host.ts). The page is served under /<token>/, so the token comes from the URL's
 * path and the socket is `ws://<same host>/<token>/ws`. Requests are answered in the order sent.
 */
import {
  API_REQUESTS,
  apiError,
  type ApiEvent,
  type ApiRequest,
  type ApiResult,
  type MeshpadApi,
  type MeshpadBridge,
} from '../../shared/api'
import { decodeWire, encodeWire, type WireMessage } from '../../shared/wire-json'

const TOKEN = /^[0-9a-f]{64}$/

/** The browser-mode token in this page's URL (`/<token>/`), or null when the page was not served so. */
export function tokenFromLocation(location: Location): string | null {
  const first = location.pathname.split('/')[1] ?? ''
  if (TOKEN.test(first)) return first
  const query = new URLSearchParams(location.search).get('token')
  return query && TOKEN.test(query) ? query : null
}

type Pending = (result: ApiResult<unknown>) => void

export function connectWebSocketApi(token: string, location: Location): MeshpadBridge {
  const listeners = new Set<(event: ApiEvent) => void>()
  const pending = new Map<number, Pending>()
  let nextId = 1
  const socket = new WebSocket(`ws://${location.host}/${token}/ws`)
  socket.binaryType = 'arraybuffer'
  const opened = new Promise<boolean>((resolve) => {
    socket.addEventListener('open', () => resolve(true), { once: true })
    socket.addEventListener('error', () => resolve(false), { once: true })
  })
  const lost = (): void => {
    for (const reply of pending.values()) {
      reply(apiError('OFFLINE', 'The connection to Meshpad was lost: is `meshpad serve` still running?'))
    }
    pending.clear()
  }
  socket.addEventListener('close', lost)
  socket.addEventListener('message', (message: MessageEvent<unknown>) => {
    if (!(message.data instanceof ArrayBuffer)) return
    const wire = decodeWire(new Uint8Array(message.data)) as WireMessage
    if (wire.kind === 'event') {
      for (const l of listeners) l(wire.event)
    } else {
      const reply = pending.get(wire.id)
      pending.delete(wire.id)
      reply?.(wire.result as ApiResult<unknown>)
    }
  })

  const send = (method: ApiRequest, args: unknown[]): Promise<ApiResult<unknown>> => {
    if (socket.readyState !== WebSocket.OPEN) {
      return Promise.resolve(apiError('OFFLINE', 'Meshpad is not reachable: is `meshpad serve` running?'))
    }
    const id = nextId++
    return new Promise((resolve) => {
      pending.set(id, resolve)
      socket.send(encodeWire({ id, method, args }))
    })
  }
  // Once open, a request leaves at once (a keystroke's ops in the same task as the keystroke), not
  // after the rest of the editor's update: the other windows see it that much sooner.
  const request = (method: ApiRequest, args: unknown[]): Promise<ApiResult<unknown>> =>
    socket.readyState === WebSocket.CONNECTING ? opened.then(() => send(method, args)) : send(method, args)

  const api = {} as Record<ApiRequest, (...args: unknown[]) => Promise<ApiResult<unknown>>>
  for (const method of API_REQUESTS) api[method] = (...args: unknown[]) => request(method, args)
  return {
    ...(api as unknown as MeshpadApi),
    onEvent: (listener) => {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}
