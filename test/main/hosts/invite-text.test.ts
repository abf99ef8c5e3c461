/**
 * What a pasted invite's errors say (issue 13): text that is no invite is called that, an invite cut
 * short or altered is called incomplete or damaged, and neither ever blames a Meshpad version.
 */
import { describe, expect, it } from 'vitest'
import {
  APP_JOIN,
  DAMAGED_INVITE,
  InviteKindError,
  NO_INVITE,
  NOT_AN_INVITE,
  readInvite,
  requireInviteKind,
} from '../../../src/main/hosts/invite-text'
import { encodeInvite, InviteCodeError, LINK_PREFIX } from '../../../src/main/node/invite-code'

const invite = {
  docId: 'ab'.repeat(16),
  inviterKey: 'cd'.repeat(32),
  addresses: [{ host: '192.168.1.20', port: 41234 }],
  inviteId: 'ef'.repeat(16),
  secret: new Uint8Array(32).fill(7),
  expires: 1_900_000_000_000,
}
const code = encodeInvite(invite)

function messageFor(text: string): string {
  try {
    readInvite(text)
  } catch (err) {
    expect(err).toBeInstanceOf(InviteCodeError)
    return (err as Error).message
  }
  throw new Error(`${text} was read as an invite`)
}

describe('readInvite', () => {
  it('reads a code or a link, with the spaces around a paste', () => {
    expect(readInvite(code)).toMatchObject({ docId: invite.docId, inviterKey: invite.inviterKey })
    expect(readInvite(`  ${LINK_PREFIX}${code}\n`).inviteId).toBe(invite.inviteId)
  })

  it('says that nonsense is not an invite, and what to check, never that it is another version', () => {
    for (const text of [
      'thisisnotaninvitecodeatall',
      'hello world',
      'garbage!',
      'x'.repeat(300),
      'https://example.com/join/abc',
      code.replace(/^./, 'Z'), // another first byte, as if from another format
    ]) {
      const message = messageFor(text)
      expect(message).toBe(NOT_AN_INVITE)
      expect(message).not.toMatch(/version/i)
    }
    expect(NOT_AN_INVITE).toMatch(
      /^That is not a Meshpad invite: check that you copied the whole code or link/,
    )
  })

  it('says that an invite cut short or altered is incomplete or damaged', () => {
    for (const text of [
      code.slice(0, 40),
      code.slice(0, -3),
      `${code}AAAA`,
      `${LINK_PREFIX}${code.slice(0, 30)}`,
      `${LINK_PREFIX}nonsense`,
    ]) {
      expect(messageFor(text)).toBe(DAMAGED_INVITE)
    }
    expect(DAMAGED_INVITE).toMatch(/check that you copied the whole code or link, or ask for a new/)
  })

  it('asks for the invite when nothing was pasted', () => {
    expect(messageFor('')).toBe(NO_INVITE)
    expect(messageFor('  \n')).toBe(NO_INVITE)
  })
})

describe('invite kinds', () => {
  const project = encodeInvite({ ...invite, kind: 'project' })
  /** The same invite as version 1 wrote it: no kind byte after the format byte. */
  const bytes = Buffer.from(encodeInvite(invite), 'base64url')
  const version1 = Buffer.concat([Buffer.from([1]), bytes.subarray(2)]).toString('base64url')

  it("carries whether it is to a shared folder, and still reads version 1's codes, which do not say", () => {
    expect(readInvite(project).kind).toBe('project')
    expect(readInvite(code).kind).toBe('doc')
    expect(readInvite(version1)).toMatchObject({ docId: invite.docId, inviteId: invite.inviteId })
    expect(readInvite(version1).kind).toBeUndefined()
  })

  it('refuses the other kind with where to join it instead, and takes a version 1 code as either', () => {
    const refusal = (text: string, kind: 'doc' | 'project'): string | null => {
      try {
        requireInviteKind(readInvite(text), kind, APP_JOIN)
        return null
      } catch (err) {
        expect(err).toBeInstanceOf(InviteKindError)
        return (err as Error).message
      }
    }
    expect(refusal(project, 'doc')).toBe(`This invite is to a shared folder: ${APP_JOIN.project}`)
    expect(refusal(code, 'project')).toBe(
      `This invite is to a document, not a shared folder: ${APP_JOIN.doc}`,
    )
    expect(refusal(project, 'project')).toBeNull()
    expect(refusal(code, 'doc')).toBeNull()
    expect(refusal(version1, 'doc')).toBeNull()
    expect(refusal(version1, 'project')).toBeNull()
  })

  it('refuses a kind it does not know as damaged', () => {
    const unknown = Buffer.from(project, 'base64url')
    unknown[1] = 9
    expect(() => readInvite(unknown.toString('base64url'))).toThrow(DAMAGED_INVITE)
  })
})
