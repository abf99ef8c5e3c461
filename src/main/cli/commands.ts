/**
 * The headless peer's commands: parsing and validation only, so that a typo gets a one-line error and
 * nothing is ever evaluated. Text arguments are taken literally, or as a JSON string literal when they
 * start with a double quote (for newlines and leading spaces): JSON.parse, not eval.
 */
import type { Role } from '../../shared/sync/messages'

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'add'; readonly host: string; readonly port: number }
  | { readonly name: 'insert'; readonly pos: number; readonly text: string }
  | { readonly name: 'delete'; readonly pos: number; readonly length: number }
  | { readonly name: 'view'; readonly json: boolean }
  | { readonly name: 'save'; readonly path: string | undefined }
  | { readonly name: 'sync' }
  | { readonly name: 'reconnect' }
  | { readonly name: 'peers' }
  | { readonly name: 'history'; readonly limit: number }
  | { readonly name: 'invite'; readonly role: Role }
  | { readonly name: 'invites' }
  | { readonly name: 'revoke'; readonly id: string }
  | { readonly name: 'join'; readonly code: string }
  | { readonly name: 'status' }
  | { readonly name: 'members' }
  | { readonly name: 'role'; readonly device: string; readonly role: Role | 'removed' }
  | { readonly name: 'share'; readonly on: boolean }
  | { readonly name: 'requests' }
  | { readonly name: 'approve'; readonly id: string; readonly role: Role }
  | { readonly name: 'deny'; readonly id: string }
  | { readonly name: 'nearby' }
  | { readonly name: 'request'; readonly device: string; readonly docId: string }
  | { readonly name: 'ls' }
  | { readonly name: 'open'; readonly path: string }
  | { readonly name: 'offline'; readonly on: boolean }
  | { readonly name: 'exit' }

export const HELP = `Commands:
  add <host:port>            connect to a peer (kept connected, retried with backoff)
  edit insert <pos> <text>   insert text at a position (text literal, or a "JSON string")
  edit delete <pos> <len>    delete len characters at a position
  view [--json]              show the document
  save [path]                write the document to its file, or to path
  sync                       exchange missing operations with every peer now
  reconnect                  redial every known peer now and resync
  peers                      connected peers and the documents shared with them
  history [n]                the last n operations (default 20): order, author, time
  invite [editor|viewer]     make a single-use invite code for this document
  invites                    this device's open invites to the document: id, role, expiry
  revoke <invite-id>         revoke an open invite (an ID or a unique start of one)
  join <code>                join a document with an invite code
  status                     document, version, role and peers in one line
  members                    the document's members and roles; marks the creator and flagged devices
  role <device> <role>       change a member's role (owner, editor, viewer, removed)
  share on|off               list this document to devices on the LAN
  requests                   pending join requests
  approve <id> [role]        let a requester in (default editor)
  deny <id>                  turn a join request down
  nearby                     documents other devices share on the LAN
  request <device> <docId>   ask a device to let you join one of its shared documents
  offline on|off             work offline (close every connection, dial no one) or go back online
With --folder (a project):
  ls                         the project's folders and files (a folder's path ends with /)
  open <path>                make a file of the project the one the commands above act on
  save                       write what is waiting to the folder now (it is written by itself)
  invite, members, role, share and status act on the project  exit                       flush to disk and quit`

export class CommandError extends Error {
  readonly code = 'BAD_COMMAND'
}

const ROLES: readonly Role[] = ['owner', 'editor', 'viewer']

function integer(word: string | undefined, what: string): number {
  if (word === undefined || !/^\d{1,15}$/.test(word)) throw new CommandError(`${what} must be a whole number`)
  return Number(word)
}

function role(word: string | undefined, fallback?: Role): Role {
  if (word === undefined && fallback) return fallback
  if (!ROLES.includes(word as Role)) throw new CommandError(`role must be one of ${ROLES.join(', ')}`)
  return word as Role
}

/** The text argument: the rest of the line, literally, or a JSON string literal. */
function textArgument(rest: string): string {
  if (rest.startsWith('"')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(rest)
    } catch {
      throw new CommandError(
        'text that starts with " must be a complete JSON string, e.g. "line one\\nline two"',
      )
    }
    if (typeof parsed !== 'string') throw new CommandError('expected a JSON string')
    return parsed
  }
  if (rest.length === 0) throw new CommandError('missing text to insert')
  return rest
}

/** Splits off the first `n` words; returns them and the rest of the line (spacing kept). */
function words(line: string, n: number): [string[], string] {
  const out: string[] = []
  let rest = line
  for (let i = 0; i < n; i++) {
    rest = rest.replace(/^\s+/, '')
    const m = /^\S+/.exec(rest)
    if (!m) break
    out.push(m[0])
    rest = rest.slice(m[0].length)
  }
  return [out, rest.replace(/^ /, '')]
}

export function parseCommand(line: string): Command | null {
  // Only leading space and the line break go: trailing spaces may be part of inserted text.
  const trimmed = line.replace(/^\s+/, '').replace(/[\r\n]+$/, '')
  if (trimmed.trim() === '' || trimmed.startsWith('#')) return null
  const [[verb = ''], afterVerb] = words(trimmed, 1)
  const args = afterVerb.trim() === '' ? [] : afterVerb.trim().split(/\s+/)
  const arity = (min: number, max: number): void => {
    if (args.length < min || args.length > max) {
      throw new CommandError(`${verb} takes ${min === max ? min : `${min} to ${max}`} argument(s); see help`)
    }
  }
  switch (verb.toLowerCase()) {
    case 'help':
    case '?':
      return { name: 'help' }
    case 'add': {
      arity(1, 1)
      const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(args[0]!)
      const port = m ? Number(m[2]) : 0
      if (!m || port < 1 || port > 65535)
        throw new CommandError('add takes host:port, e.g. add 192.168.1.20:7400')
      return { name: 'add', host: m[1]!.replace(/^\[|\]$/g, ''), port }
    }
    case 'edit': {
      const [[sub = '', pos], rest] = words(afterVerb, 2)
      if (sub === 'insert') return { name: 'insert', pos: integer(pos, 'position'), text: textArgument(rest) }
      if (sub === 'delete') {
        const length = integer(rest.trim(), 'length')
        return { name: 'delete', pos: integer(pos, 'position'), length }
      }
      throw new CommandError('edit takes insert <pos> <text> or delete <pos> <len>')
    }
    case 'view':
      arity(0, 1)
      if (args[0] !== undefined && args[0] !== '--json') throw new CommandError('view takes only --json')
      return { name: 'view', json: args[0] === '--json' }
    case 'save':
      return { name: 'save', path: afterVerb.trim() || undefined }
    case 'sync':
      arity(0, 0)
      return { name: 'sync' }
    case 'reconnect':
      arity(0, 0)
      return { name: 'reconnect' }
    case 'peers':
      arity(0, 0)
      return { name: 'peers' }
    case 'history':
      arity(0, 1)
      return { name: 'history', limit: args[0] === undefined ? 20 : integer(args[0], 'count') }
    case 'invite':
      arity(0, 1)
      return { name: 'invite', role: role(args[0], 'editor') }
    case 'invites':
      arity(0, 0)
      return { name: 'invites' }
    case 'revoke':
      arity(1, 1)
      return { name: 'revoke', id: args[0]! }
    case 'join':
      arity(1, 1)
      return { name: 'join', code: args[0]! }
    case 'status':
      return { name: 'status' }
    case 'members':
      return { name: 'members' }
    case 'role': {
      arity(2, 2)
      const r = args[1] === 'removed' ? 'removed' : role(args[1])
      return { name: 'role', device: args[0]!, role: r }
    }
    case 'share':
      arity(1, 1)
      if (args[0] !== 'on' && args[0] !== 'off') throw new CommandError('share takes on or off')
      return { name: 'share', on: args[0] === 'on' }
    case 'requests':
      return { name: 'requests' }
    case 'approve':
      arity(1, 2)
      return { name: 'approve', id: args[0]!, role: role(args[1], 'editor') }
    case 'deny':
      arity(1, 1)
      return { name: 'deny', id: args[0]! }
    case 'nearby':
      return { name: 'nearby' }
    case 'request':
      arity(2, 2)
      return { name: 'request', device: args[0]!, docId: args[1]! }
    case 'ls':
      arity(0, 0)
      return { name: 'ls' }
    case 'open': {
      const path = afterVerb.trim()
      if (path === '') throw new CommandError('open takes the path of a file of the project; see ls')
      return { name: 'open', path }
    }
    case 'offline':
      arity(1, 1)
      if (args[0] !== 'on' && args[0] !== 'off') throw new CommandError('offline takes on or off')
      return { name: 'offline', on: args[0] === 'on' }
    case 'exit':
    case 'quit':
      return { name: 'exit' }
    default:
      throw new CommandError(`unknown command "${verb}"; type help for the list`)
  }
}
