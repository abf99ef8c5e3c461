import { describe, expect, it } from 'vitest'
import { dialError, listenError, NetError } from '../../../src/main/net/errors'

const sysError = (code: string): Error => Object.assign(new Error(`${code} something`), { code })

describe('NetError mapping', () => {
  it('names the dial failure and keeps the system code', () => {
    const cases: [string, NetError['code']][] = [
      ['ECONNREFUSED', 'CONNECTION_REFUSED'],
      ['EHOSTUNREACH', 'HOST_UNREACHABLE'],
      ['ENETUNREACH', 'HOST_UNREACHABLE'],
      ['ENOTFOUND', 'HOST_NOT_FOUND'],
      ['ETIMEDOUT', 'TIMEOUT'],
      ['ECONNRESET', 'CONNECTION_RESET'],
      ['EWHATEVER', 'NETWORK'],
    ]
    for (const [errno, code] of cases) {
      const error = dialError(sysError(errno), '192.0.2.7', 4100)
      expect(error).toBeInstanceOf(NetError)
      expect(error.code, errno).toBe(code)
      expect(error.errno).toBe(errno)
      expect(error.message).toContain('192.0.2.7')
    }
    const typed = new NetError('TIMEOUT', 'x')
    expect(dialError(typed, 'h', 1)).toBe(typed)
  })

  it('says which port is taken and what to do', () => {
    const error = listenError(sysError('EADDRINUSE'), '0.0.0.0', 4100)
    expect(error.code).toBe('ADDRESS_IN_USE')
    expect(error.message).toMatch(/0\.0\.0\.0:4100.*port 4100 is already in use.*--port/)
    expect(listenError(sysError('EACCES'), '0.0.0.0', 80).code).toBe('PERMISSION_DENIED')
    expect(listenError(sysError('EADDRNOTAVAIL'), '10.9.9.9', 4100).code).toBe('ADDRESS_NOT_AVAILABLE')
  })
})
