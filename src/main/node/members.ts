/**
 * A document's member list, kept in an LwwMap keyed by device public key (hex): each device's role and
 * display name. Removal is a role ('removed'), not a deleted key, so that it beats older grants
 * everywhere and the removed device stays recognisable.
 */
import type { Role } from '../../shared/sync/messages'

export type MemberRole = Role | 'removed'

export interface MemberRecord {
  readonly role: MemberRole
  readonly name: string
}

const ROLES: readonly MemberRole[] = ['owner', 'editor', 'viewer', 'removed']

/** Reads a member record from untrusted replicated data: anything malformed counts as no record. */
export function parseMember(value: unknown): MemberRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { role, name } = value as { role?: unknown; name?: unknown }
  if (typeof role !== 'string' || !ROLES.includes(role as MemberRole)) return undefined
  return { role: role as MemberRole, name: typeof name === 'string' ? name.slice(0, 64) : '' }
}

export function canEdit(role: MemberRole | undefined): boolean {
  return role === 'owner' || role === 'editor'
}
