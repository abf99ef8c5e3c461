import { useEffect, useRef } from 'react'
import type { ApiEvent, MeshpadBridge } from '../../shared/api'

/**
 * Calls `handler` with every event from the node while the component is mounted. The latest handler is
 * used without resubscribing, so a handler that closes over state needs no dependency list.
 */
export function useApiEvent(api: MeshpadBridge, handler: (event: ApiEvent) => void): void {
  const latest = useRef(handler)
  useEffect(() => {
    latest.current = handler
  })
  useEffect(() => api.onEvent((event) => latest.current(event)), [api])
}
