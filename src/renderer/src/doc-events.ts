/**
 * Routes the node's events to the editor of their document. Ops for a document whose editor is not
 * bound yet (it is being created from the state `openDocument` returned: see `expect`) are kept and
 * handed over on binding, so none is lost in between; duplicates are harmless since
 * TextDoc.applyRemote is idempotent.
 */
import type { ApiEvent, DocStatus, EditorCommand, MeshpadBridge } from '../../shared/api'
import type { OpenTarget } from '../../shared/open-target'

export interface DocHandlers {
  /** `catchUp`: the batch came in a resync after time apart. */
  readonly ops: (batch: Uint8Array, catchUp: boolean) => void
}

/** What the window does with events that are not a document's ops. */
export interface WindowHandlers {
  readonly status: (status: DocStatus) => void
  readonly error: (message: string) => void
  readonly command: (command: EditorCommand) => void
  readonly open: (target: OpenTarget) => void
  /** The document was rebuilt (ApiEvent 'reset'): open it again. */
  readonly reset: (docId: string) => void
}

export class DocEvents {
  private readonly handlers = new Map<string, DocHandlers>()
  private readonly early = new Map<string, { batch: Uint8Array; catchUp: boolean }[]>()

  constructor(private readonly api: MeshpadBridge) {}

  /** Starts receiving the node's events; returns the function that stops it (for a React effect). */
  listen(window: WindowHandlers): () => void {
    return this.api.onEvent((event) => this.dispatch(event, window))
  }

  bind(docId: string, handlers: DocHandlers): () => void {
    this.handlers.set(docId, handlers)
    const queued = this.early.get(docId) ?? []
    this.early.delete(docId)
    for (const { batch, catchUp } of queued) handlers.ops(batch, catchUp)
    return () => {
      if (this.handlers.get(docId) === handlers) this.handlers.delete(docId)
    }
  }

  /** The window no longer shows `docId`: drop what was kept for it. */
  forget(docId: string): void {
    this.handlers.delete(docId)
    this.early.delete(docId)
  }

  /**
   * The window is opening `docId` (its state just arrived): ops from now until its editor binds are
   * kept. Ops for a document neither bound nor expected (one the window left) are dropped.
   */
  expect(docId: string): void {
    if (!this.handlers.has(docId) && !this.early.has(docId)) this.early.set(docId, [])
  }

  private dispatch(event: ApiEvent, window: WindowHandlers): void {
    switch (event.type) {
      case 'ops': {
        const h = this.handlers.get(event.docId)
        const catchUp = event.catchUp === true
        if (h) h.ops(event.batch, catchUp)
        else this.early.get(event.docId)?.push({ batch: event.batch, catchUp })
        return
      }
      case 'status':
        return window.status(event.status)
      case 'error':
        return window.error(event.error.message)
      case 'command':
        return window.command(event.command)
      case 'open':
        return window.open(event.target)
      case 'reset':
        // Its ops no longer apply to the editor's replica: none goes to it until it is opened again.
        this.forget(event.docId)
        return window.reset(event.docId)
      default:
        return // collaboration events: the panels hear those themselves (use-api-event.ts)
    }
  }
}
