import { describe, expect, it } from 'vitest'
import { CommandError, parseCommand } from '../../../src/main/cli/commands'

describe('CLI command parsing', () => {
  it('parses every command with its arguments', () => {
    expect(parseCommand('add 192.168.1.20:7400')).toEqual({ name: 'add', host: '192.168.1.20', port: 7400 })
    expect(parseCommand('add [::1]:7400')).toEqual({ name: 'add', host: '::1', port: 7400 })
    expect(parseCommand('edit insert 3 hello world ')).toEqual({
      name: 'insert',
      pos: 3,
      text: 'hello world ',
    })
    expect(parseCommand('edit insert 0 "line\\n  two"')).toEqual({
      name: 'insert',
      pos: 0,
      text: 'line\n  two',
    })
    expect(parseCommand('edit delete 2 5')).toEqual({ name: 'delete', pos: 2, length: 5 })
    expect(parseCommand('view --json')).toEqual({ name: 'view', json: true })
    expect(parseCommand('save')).toEqual({ name: 'save', path: undefined })
    expect(parseCommand('save /tmp/out.txt')).toEqual({ name: 'save', path: '/tmp/out.txt' })
    expect(parseCommand('history 5')).toEqual({ name: 'history', limit: 5 })
    expect(parseCommand('invite viewer')).toEqual({ name: 'invite', role: 'viewer' })
    expect(parseCommand('invite')).toEqual({ name: 'invite', role: 'editor' })
    expect(parseCommand('revoke 3fa9')).toEqual({ name: 'revoke', id: '3fa9' })
    expect(parseCommand('approve ab12 viewer')).toEqual({ name: 'approve', id: 'ab12', role: 'viewer' })
    expect(parseCommand('role 7f9d removed')).toEqual({ name: 'role', device: '7f9d', role: 'removed' })
    expect(parseCommand('open src/my notes.md ')).toEqual({ name: 'open', path: 'src/my notes.md' })
    expect(parseCommand('offline on')).toEqual({ name: 'offline', on: true })
    expect(parseCommand('ls')).toEqual({ name: 'ls' })
    expect(() => parseCommand('open')).toThrow(CommandError)
    expect(() => parseCommand('offline maybe')).toThrow(CommandError)
    for (const verb of [
      'sync',
      'reconnect',
      'peers',
      'status',
      'members',
      'invites',
      'requests',
      'nearby',
      'exit',
      'help',
    ]) {
      expect(parseCommand(verb)?.name).toBe(verb)
    }
  })

  it('ignores blank lines and comments', () => {
    expect(parseCommand('   ')).toBeNull()
    expect(parseCommand('# a comment')).toBeNull()
  })

  it('refuses malformed input with a one-line error, and never evaluates it', () => {
    const bad = [
      'frob',
      'add localhost',
      'add host:99999',
      'edit insert -1 x',
      'edit insert 1e3 x',
      'edit insert 0',
      'edit delete 0 x',
      'edit move 1 2',
      'edit insert 0 "unterminated',
      'edit insert 0 "${process.exit(1)}',
      'invite owner-ish',
      'view --raw',
      'share maybe',
      'sync now',
      'revoke',
      'revoke a b',
      'invites all',
    ]
    for (const line of bad) {
      let error: unknown
      try {
        parseCommand(line)
      } catch (err) {
        error = err
      }
      expect(error, line).toBeInstanceOf(CommandError)
      expect((error as Error).message, line).not.toContain('\n')
    }
  })
})
