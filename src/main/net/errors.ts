/**
 * Typed network errors. `code` is stable (the CLI and the app API show it and branch on it); `message`
 * says what happened, where, and what the user can do about it.
 */

export type NetErrorCode =
  /** listen: the port is taken. */
  | 'ADDRESS_IN_USE'
  /** listen: the host is not an address of this machine. */
  | 'ADDRESS_NOT_AVAILABLE'
  /** listen: a privileged port, or the system refused. */
  | 'PERMISSION_DENIED'
  /** dial: nothing listens at that address. */
  | 'CONNECTION_REFUSED'
  /** dial: no route to the host or its network. */
  | 'HOST_UNREACHABLE'
  /** dial: the host name does not resolve. */
  | 'HOST_NOT_FOUND'
  /** dial: no connection, handshake or answer within the deadline. */
  | 'TIMEOUT'
  /** the peer reset or dropped the connection before it was established. */
  | 'CONNECTION_RESET'
  /** the other end does not speak Noise/Meshpad, or the handshake was corrupted. */
  | 'HANDSHAKE_FAILED'
  /** the address led back to this device. */
  | 'SELF_CONNECTION'
  /** the peer kept another connection with this device, and that one has closed meanwhile. */
  | 'DUPLICATE'
  /** the transport was closed. */
  | 'CLOSED'
  /** anything else the OS reported. */
  | 'NETWORK'

export class NetError extends Error {
  readonly code: NetErrorCode
  /** The system error code behind it (ECONNREFUSED…), when there was one. */
  readonly errno: string | undefined

  constructor(code: NetErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'NetError'
    this.code = code
    this.errno = errnoOf(options.cause)
  }
}

export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined
  return typeof error.code === 'string' ? error.code : undefined
}

export function listenError(error: unknown, host: string, port: number): NetError {
  const where = `${host}:${port}`
  switch (errnoOf(error)) {
    case 'EADDRINUSE':
      return new NetError(
        'ADDRESS_IN_USE',
        `Cannot listen on ${where}: port ${port} is already in use, perhaps by another Meshpad peer. ` +
          'Stop that program, or choose another port (--port <n>, or --port 0 for any free port).',
        { cause: error },
      )
    case 'EADDRNOTAVAIL':
      return new NetError(
        'ADDRESS_NOT_AVAILABLE',
        `Cannot listen on ${where}: ${host} is not an address of this machine. Use 0.0.0.0 to listen on all.`,
        { cause: error },
      )
    case 'EACCES':
    case 'EPERM':
      return new NetError(
        'PERMISSION_DENIED',
        `Cannot listen on ${where}: permission denied (ports below 1024 need privileges). Choose a port ≥ 1024.`,
        { cause: error },
      )
    default:
      return new NetError('NETWORK', `Cannot listen on ${where}: ${describe(error)}`, { cause: error })
  }
}

export function dialError(error: unknown, host: string, port: number): NetError {
  if (error instanceof NetError) return error
  const where = `${host}:${port}`
  switch (errnoOf(error)) {
    case 'ECONNREFUSED':
      return new NetError(
        'CONNECTION_REFUSED',
        `Nothing is listening on ${where}: the peer is not running, or the port is wrong.`,
        { cause: error },
      )
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return new NetError(
        'HOST_UNREACHABLE',
        `${host} cannot be reached: check that both devices are on the same network.`,
        {
          cause: error,
        },
      )
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new NetError('HOST_NOT_FOUND', `The host name ${host} does not resolve.`, { cause: error })
    case 'ETIMEDOUT':
      return new NetError('TIMEOUT', `${where} did not answer in time.`, { cause: error })
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return new NetError('CONNECTION_RESET', `${where} dropped the connection during the handshake.`, {
        cause: error,
      })
    default:
      return new NetError('NETWORK', `Cannot connect to ${where}: ${describe(error)}`, { cause: error })
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))
