/**
 * Routes the node's events to the editor of their document. Ops for a document whose editor is not
 * bound yet (it is being created from the state `openDocument` returned) are kept and handed over on
 * binding, so none is lost in between; duplicates are harmless since TextDoc.applyRemote is idempotent.
 */
import type { ApiEvent, DocStatus, MeshpadBridge } from '../../shared/api'

export interface DocHandlers {
  readonly ops: (batch: Uint8Array) => void
}

export class DocEvents {
  private readonly handlers = new Map<string, DocHandlers>()
  private readonly early = new Map<string, Uint8Array[]>()

  constructor(
    private readonly api: MeshpadBridge,
    private readonly onStatus: (status: DocStatus) => void,
    private readonly onError: (message: string) => void,
  ) {}

  /** Starts receiving the node's events; returns the function that stops it (for a React effect). */
  listen(): () => void {
    return this.api.onEvent((event) => this.dispatch(event))
  }

  bind(docId: string, handlers: DocHandlers): () => void {
    this.handlers.set(docId, handlers)
    const queued = this.early.get(docId) ?? []
    this.early.delete(docId)
    for (const batch of queued) handlers.ops(batch)
    return () => {
      if (this.handlers.get(docId) === handlers) this.handlers.delete(docId)
    }
  }

  private dispatch(event: ApiEvent): void {
    if (event.type === 'ops') {
      const h = this.handlers.get(event.docId)
      if (h) h.ops(event.batch)
      else
        (this.early.get(event.docId) ?? this.early.set(event.docId, []).get(event.docId)!).push(event.batch)
    } else if (event.type === 'status') {
      this.onStatus(event.status)
    } else {
      this.onError(event.error.message)
    }
  }
}
