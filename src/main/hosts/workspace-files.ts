/**
 * The node's documents as LinkedFile sees them (storage/linked-file.ts): a file's document is the
 * Workspace's DocSession, so the import of a file and the merge of its external changes are ordinary
 * edits of the session, made durable and sent to peers. Used by the app (app-service.ts) and the CLI.
 */
import type { DocSession } from '../node/doc-session'
import { canEdit } from '../node/members'
import type { PeerNode } from '../node/peer-node'
import { WorkspaceError } from '../node/workspace'
import type { LinkedDoc, LinkedDocs } from '../storage/linked-file'

export function workspaceDocs(node: PeerNode): LinkedDocs<DocSession> {
  const ws = node.workspace
  return {
    view: sessionView,
    open: async (docId) => {
      try {
        return await ws.openDoc(docId)
      } catch (err) {
        if (err instanceof WorkspaceError && err.code === 'UNKNOWN_DOC') return null
        throw err
      }
    },
    create: (title) => ws.createDoc(title),
    // Every document held, not only those open so far (the node opens them in the background).
    ids: async () => ws.heldDocIds(),
    adopt: async (session, title) => {
      // Made by `createDoc` on this device and cut short: no other member, its title or none yet.
      const members = session.members()
      if (members.some((m) => m.device !== ws.self)) return false
      if (session.title !== '' && session.title !== title) return false
      if (members.length === 0) await session.setMember(ws.self, 'owner', ws.name)
      if (session.title === '') await session.setProp('title', title)
      return true
    },
    // The node keeps its documents open (and syncing) whatever happens to the file.
    release: async () => undefined,
  }
}

function sessionView(session: DocSession): LinkedDoc {
  return {
    docId: session.docId,
    get length() {
      return session.durable.text.length
    },
    text: () => session.text,
    version: () => session.textVersion(),
    allTextOps: () => session.durable.allTextOps(),
    get editable() {
      return canEdit(session.myRole)
    },
    insert: (index, text, utf8) => session.insert(index, text, utf8),
    applyBatch: (batch) => session.applyLocalBatch(batch),
    diskReplica: (fits) => session.takeDiskReplica(fits, true),
    diskMerged: (replica) => session.diskMerged(replica),
  }
}
