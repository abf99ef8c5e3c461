/**
 * The narrow slice of @hyperswarm/secret-stream (CommonJS, untyped) that src/main/net uses.
 * The stream is a streamx Duplex, not a Node one: only the members below are relied on.
 */
declare module '@hyperswarm/secret-stream' {
  import type { Socket } from 'node:net'

  interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  interface SecretStreamOptions {
    keyPair?: { publicKey: Uint8Array; secretKey: Uint8Array }
  }

  class NoiseSecretStream {
    constructor(isInitiator: boolean, rawStream: Socket, options?: SecretStreamOptions)
    /** A fresh Ed25519 key pair, or the one derived from a 32-byte seed. */
    static keyPair(seed?: Uint8Array): KeyPair

    readonly isInitiator: boolean
    /** Set once the handshake is done ('open'). */
    readonly remotePublicKey: Buffer | null
    readonly handshakeHash: Buffer | null
    readonly destroying: boolean
    readonly destroyed: boolean
    /**
     * streamx's writable state: `buffered` is the bytes written but not yet handed to `_write`
     * (secret-stream's `_write` waits for the socket to drain). An internal, read only for the
     * send-buffer cap; test/main/net/transport.test.ts notices if it goes away.
     */
    readonly _writableState?: { readonly buffered: number }

    /** Destroys the stream when no data arrives for `ms` (0 disables). */
    setTimeout(ms: number): void
    /** Sends an empty record whenever nothing was written for `ms` (0 disables). */
    setKeepAlive(ms: number): void
    /** One encrypted record per call (at most 16 MiB − 1 bytes). */
    write(data: Uint8Array): boolean
    end(): void
    destroy(error?: Error): void

    on(event: 'open' | 'end' | 'close', listener: () => void): this
    on(event: 'data', listener: (data: Buffer) => void): this
    on(event: 'error', listener: (error: Error) => void): this
  }

  export = NoiseSecretStream
}
