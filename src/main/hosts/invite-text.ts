/**
 * An invite as a person pastes it (a code or a `meshpad://join/…` link), read for the app and the CLI
 * with errors that say what happened and what to do (issue 13). The codec (node/invite-code.ts) tells
 * only that the bytes are wrong; here that becomes "not an invite" (nonsense, or the wrong thing
 * pasted) or "incomplete or damaged" (an invite's start, cut short or altered): never "a different
 * Meshpad version" for text that was never an invite.
 */
import { decodeInvite, InviteCodeError, LINK_PREFIX, type InviteCode } from '../node/invite-code'

export const NOT_AN_INVITE =
  'That is not a Meshpad invite: check that you copied the whole code or link (it starts with meshpad://join/).'
export const DAMAGED_INVITE =
  'That invite is incomplete or damaged: check that you copied the whole code or link, or ask for a new invite.'
export const NO_INVITE = 'Paste the invite code or meshpad://join/ link that you were sent.'

/** The invite format this version writes: the first byte of every code. */
const INVITE_FORMAT = 1

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
  return Buffer.from(text.slice(0, 4), 'base64url')[0] === INVITE_FORMAT
}
