/**
 * An invite as a person pastes it (a code or a `meshpad://join/…` link), read for the app and the CLI
 * with errors that say what happened and what to do (issue 13). The codec (node/invite-code.ts) tells
 * only that the bytes are wrong; here that becomes "not an invite" (nonsense, or the wrong thing
 * pasted) or "incomplete or damaged" (an invite's start, cut short or altered): never "a different
 * Meshpad version" for text that was never an invite.
 */
import {
  decodeInvite,
  InviteCodeError,
  LINK_PREFIX,
  type InviteCode,
  type InviteKind,
} from '../node/invite-code'

export const NOT_AN_INVITE =
  'That is not a Meshpad invite: check that you copied the whole code or link (it starts with meshpad://join/).'
export const DAMAGED_INVITE =
  'That invite is incomplete or damaged: check that you copied the whole code or link, or ask for a new invite.'
export const NO_INVITE = 'Paste the invite code or meshpad://join/ link that you were sent.'

/** Where the app joins each kind of invite, for the message that refuses the other kind. */
export const APP_JOIN = {
  project: 'use Open a project on the start screen, and choose the folder to keep its files in.',
  doc: 'paste it in Nearby › Join instead.',
}

/** Where the CLI joins each kind of invite. */
export const CLI_JOIN = {
  project: 'run meshpad peer --folder DIR --invite CODE to keep its files in DIR.',
  doc: 'run meshpad peer FILE, then join CODE.',
}

/** The invite formats this version reads: the first byte of every code. */
const INVITE_FORMATS = [1, 2]

/** An invite to the other kind of thing than the one being joined (a shared folder, or a document). */
export class InviteKindError extends InviteCodeError {
  constructor(
    readonly kind: InviteKind,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Refuses an invite to the other kind of thing than `kind`, saying where it is joined instead (how
 * for the app, or for the CLI). A code that does not say its kind (format 1) is taken as either.
 */
export function requireInviteKind(
  invite: InviteCode,
  kind: InviteKind,
  how: { project: string; doc: string },
): void {
  if (invite.kind === undefined || invite.kind === kind) return
  throw new InviteKindError(
    invite.kind,
    invite.kind === 'project'
      ? `This invite is to a shared folder: ${how.project}`
      : `This invite is to a document, not a shared folder: ${how.doc}`,
  )
}

/** Reads an invite code or link; an InviteCodeError (BAD_INVITE over the app API) with advice if it is none. */
export function readInvite(text: string): InviteCode {
  const trimmed = text.trim()
  if (trimmed === '') throw new InviteCodeError(NO_INVITE)
  try {
    return decodeInvite(trimmed)
  } catch (err) {
    if (!(err instanceof InviteCodeError)) throw err
    throw new InviteCodeError(looksLikeAnInvite(trimmed) ? DAMAGED_INVITE : NOT_AN_INVITE, { cause: err })
  }
}

/** The text starts as an invite of this version does: a link, or a code whose first byte is the format. */
function looksLikeAnInvite(text: string): boolean {
  if (text.startsWith(LINK_PREFIX)) return true
  if (!/^[A-Za-z0-9_-]{20,}$/.test(text)) return false
  return INVITE_FORMATS.includes(Buffer.from(text.slice(0, 4), 'base64url')[0] ?? -1)
}
