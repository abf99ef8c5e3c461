/**
 * Invite codes: what a person pastes (or opens as a meshpad:// link) to join a document. A code
 * carries the document ID, the inviter's device key (so the joiner can check it reached the right
 * device), where the inviter listens, an invite ID, a 256-bit secret, an expiry and (from version 2)
 * whether it is to a shared folder, whose joiner must choose a folder for its files before joining.
 * The secret never crosses the network again: redeeming sends only an HMAC of it bound to the Noise
 * handshake.
 */
import { ByteReader, ByteWriter } from '../../shared/crdt/bytes'
import { DOC_ID_BYTES, KEY_BYTES } from '../../shared/sync/messages'
import { fromHex, toHex } from '../../shared/sync/hex'

export interface InviteCode {
  readonly docId: string
  readonly inviterKey: string
  readonly addresses: readonly { readonly host: string; readonly port: number }[]
  readonly inviteId: string
  readonly secret: Uint8Array
  /** Milliseconds since the epoch. */
  readonly expires: number
  /** What it joins: a document, or a project (a shared folder). Absent: not said (a version 1 code). */
  readonly kind?: InviteKind
}

export type InviteKind = 'doc' | 'project'

/** Version 2 adds the kind (a byte after the version); version 1 codes are documents' and still read. */
const VERSION = 2
const VERSION_NO_KIND = 1
const KINDS: readonly InviteKind[] = ['doc', 'project']
export const LINK_PREFIX = 'meshpad://join/'

export class InviteCodeError extends Error {
  readonly code = 'INVITE_CODE'
}

export function encodeInvite(invite: InviteCode): string {
  const w = new ByteWriter(160)
  w.byte(VERSION)
  w.byte(KINDS.indexOf(invite.kind ?? 'doc'))
  w.bytes(fromHex(invite.docId))
  w.bytes(fromHex(invite.inviterKey))
  w.bytes(fromHex(invite.inviteId))
  w.bytes(invite.secret)
  w.uint(invite.expires)
  w.uint(invite.addresses.length)
  for (const a of invite.addresses) {
    w.string(a.host)
    w.uint(a.port)
  }
  return Buffer.from(w.finish()).toString('base64url')
}

/** Accepts a bare code or a meshpad://join/ link. */
export function decodeInvite(text: string): InviteCode {
  const code = text.trim().startsWith(LINK_PREFIX) ? text.trim().slice(LINK_PREFIX.length) : text.trim()
  if (!/^[A-Za-z0-9_-]{20,2000}$/.test(code)) throw new InviteCodeError('That is not a Meshpad invite code.')
  try {
    const r = new ByteReader(new Uint8Array(Buffer.from(code, 'base64url')))
    const version = r.byte()
    if (version !== VERSION && version !== VERSION_NO_KIND)
      throw new InviteCodeError('This invite comes from a different Meshpad version.')
    const kind = version === VERSION ? KINDS[r.byte()] : null
    if (kind === undefined) throw new InviteCodeError('unknown kind')
    const docId = toHex(r.bytes(DOC_ID_BYTES))
    const inviterKey = toHex(r.bytes(KEY_BYTES))
    const inviteId = toHex(r.bytes(DOC_ID_BYTES))
    const secret = r.bytes(32).slice()
    const expires = r.uint()
    const n = r.count(2)
    const addresses: { host: string; port: number }[] = []
    for (let i = 0; i < n; i++) {
      const host = r.string()
      const port = r.uint()
      if (port < 1 || port > 65535 || host.length === 0 || host.length > 255)
        throw new InviteCodeError('bad address')
      addresses.push({ host, port })
    }
    if (!r.done()) throw new InviteCodeError('trailing bytes')
    return { docId, inviterKey, addresses, inviteId, secret, expires, ...(kind ? { kind } : {}) }
  } catch (err) {
    if (err instanceof InviteCodeError) throw err
    throw new InviteCodeError(`That invite code is damaged (${(err as Error).message}); ask for a new one.`)
  }
}
