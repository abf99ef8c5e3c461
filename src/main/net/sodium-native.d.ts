/**
 * The narrow slice of sodium-native (CommonJS, untyped) that src/main uses: Ed25519 signatures in
 * libsodium's detached form (64-byte signature; 64-byte secret key = 32-byte seed | public key).
 */
declare module 'sodium-native' {
  export const crypto_sign_BYTES: number
  export function crypto_sign_detached(
    signature: Uint8Array,
    message: Uint8Array,
    secretKey: Uint8Array,
  ): void
  export function crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean
}
