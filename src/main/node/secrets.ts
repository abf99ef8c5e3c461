/**
 * The node's secrets: per document, its keys (by epoch) and the peers trusted while joining; and the
 * invites this device has issued. One JSON file in the data dir, written atomically with 0600
 * permissions: these keys are what admits a device to a document.
 */
import { join } from 'node:path'
import { writeFileAtomic } from '../storage/atomic-write'
import { errnoCode, nodeFs, type StorageFs } from '../storage/fs-layer'
import type { Role } from '../../shared/sync/messages'
import type { DocSecrets } from './doc-session'

export interface IssuedInvite {
  readonly docId: string
  readonly role: Role
  /** Hex of the 256-bit secret the invitee proves it holds. */
  readonly secret: string
  readonly expires: number
  used: boolean
  /** Revoked by the device that issued it: redeeming it fails. */
  revoked?: boolean
}

interface SecretsFile {
  version: 1
  docs: Record<string, DocSecrets & { lan?: boolean }>
  invites: Record<string, IssuedInvite>
  /**
   * The replicas of the last clean close of documents that have no secrets of their own (a project's
   * files: their keys are the project's), as `DocSecrets.resume` is for the others.
   */
  resumes?: Record<string, string[]>
}

export class SecretsCorruptError extends Error {
  readonly code = 'SECRETS_CORRUPT'
}

export class SecretStore {
  private writing: Promise<void> = Promise.resolve()
  /** Replicas of the last clean close, per document, once taken out of the file (takeResume). */
  private resumes: Promise<Map<string, string[]>> | null = null

  private constructor(
    private readonly path: string,
    private readonly data: SecretsFile,
    private readonly fs: StorageFs,
  ) {}

  static async open(dataDir: string, fs: StorageFs = nodeFs): Promise<SecretStore> {
    const path = join(dataDir, 'secrets.json')
    let data: SecretsFile = { version: 1, docs: {}, invites: {} }
    try {
      const raw = new TextDecoder('utf-8', { ignoreBOM: false }).decode(await fs.readFile(path))
      const parsed = JSON.parse(raw) as Partial<SecretsFile>
      if (parsed.version !== 1 || typeof parsed.docs !== 'object' || typeof parsed.invites !== 'object') {
        throw new Error('unexpected layout')
      }
      data = parsed as SecretsFile
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') {
        // Replacing it would silently lock this device out of its documents: stop and say so.
        throw new SecretsCorruptError(
          `The document keys in ${path} cannot be read (${(err as Error).message}). ` +
            'Restore it from a backup, or move it away to start without access to existing documents.',
        )
      }
    }
    return new SecretStore(path, data, fs)
  }

  doc(docId: string): DocSecrets | undefined {
    return this.data.docs[docId]
  }

  docIds(): string[] {
    return Object.keys(this.data.docs)
  }

  isSharedOnLan(docId: string): boolean {
    return this.data.docs[docId]?.lan === true
  }

  async setSharedOnLan(docId: string, on: boolean): Promise<void> {
    const d = this.data.docs[docId]
    if (!d) return
    d.lan = on
    await this.save()
  }

  /**
   * The document's replicas to take up again (DocSecrets.resume). The first call takes every
   * document's out of the file in one durable write before any is returned, so that from then on a
   * crash makes the next start mint new ones: one write at start-up, not one per document.
   */
  async takeResume(docId: string): Promise<string[]> {
    this.resumes ??= this.takeAllResumes()
    const resumes = await this.resumes
    const taken = resumes.get(docId) ?? []
    resumes.delete(docId)
    return taken
  }

  private async takeAllResumes(): Promise<Map<string, string[]>> {
    const taken = new Map<string, string[]>()
    const nonces = (list: unknown): string[] =>
      Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []
    for (const [docId, d] of Object.entries(this.data.docs)) {
      if (d.resume === undefined) continue
      taken.set(docId, nonces(d.resume))
      delete d.resume
    }
    const files = this.data.resumes
    const found = files !== undefined
    if (typeof files === 'object' && files !== null)
      for (const [docId, list] of Object.entries(files)) taken.set(docId, nonces(list))
    delete this.data.resumes
    if (taken.size > 0 || found) await this.save()
    return taken
  }

  /**
   * Records, at a clean close, the replicas the next start may take up again (per document), with
   * those of documents this run never opened, in one write.
   */
  async putResumes(closed: Iterable<readonly [string, readonly string[]]>): Promise<void> {
    const unopened = this.resumes ? await this.resumes : new Map<string, string[]>()
    const files: Record<string, string[]> = {}
    for (const [docId, nonces] of [...unopened, ...closed]) {
      const d = this.data.docs[docId]
      if (d) d.resume = [...nonces]
      else if (nonces.length > 0) files[docId] = [...nonces]
    }
    if (Object.keys(files).length > 0) this.data.resumes = files
    await this.save()
  }

  async putDoc(docId: string, secrets: DocSecrets): Promise<void> {
    this.data.docs[docId] = { ...this.data.docs[docId], ...secrets }
    await this.save()
  }

  invite(inviteId: string): IssuedInvite | undefined {
    return this.data.invites[inviteId]
  }

  invites(): [string, IssuedInvite][] {
    return Object.entries(this.data.invites)
  }

  async putInvite(inviteId: string, invite: IssuedInvite): Promise<void> {
    this.data.invites[inviteId] = invite
    await this.save()
  }

  /** Waits for writes in flight. */
  async close(): Promise<void> {
    await this.writing
  }

  /** Writes are serialised so an older snapshot of the file can never overwrite a newer one. */
  save(): Promise<void> {
    const next = this.writing.then(() =>
      writeFileAtomic(this.fs, this.path, new TextEncoder().encode(JSON.stringify(this.data)), {
        mode: 0o600,
        action: 'save document keys to',
      }),
    )
    this.writing = next.catch(() => undefined)
    return next
  }
}
