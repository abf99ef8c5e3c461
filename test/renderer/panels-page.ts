/**
 * The page of panels.browser.test.ts (bundled by the test with esbuild): the collaboration panels
 * rendered over a fake bridge that records every request and lets the test send events.
 */
import { createElement, Fragment } from 'react'
import { createRoot } from 'react-dom/client'
import type {
  ApiEvent,
  ApiResult,
  MeshpadBridge,
  PropEntry,
  Settings,
  SharingInfo,
} from '../../src/shared/api'
import { JoinRequests } from '../../src/renderer/src/panels/JoinRequests'
import { NearbyPanel } from '../../src/renderer/src/panels/NearbyPanel'
import { PropertiesPanel } from '../../src/renderer/src/panels/PropertiesPanel'
import { SettingsPanel } from '../../src/renderer/src/panels/SettingsPanel'
import { SharePanel } from '../../src/renderer/src/panels/SharePanel'
import { Preview } from '../../src/renderer/src/Preview'

const DOC = 'd'.repeat(32)
const ok = <T>(value: T): Promise<ApiResult<T>> => Promise.resolve({ ok: true, value })
const fail = (message: string): Promise<ApiResult<never>> =>
  Promise.resolve({ ok: false, code: 'BAD_ARGUMENT', message })

const calls: unknown[][] = []
const opened: string[] = []
/** Invites the Nearby panel handed on as shared folders' (PROJECT_INVITE). */
const projectInvites: string[] = []
const listeners = new Set<(event: ApiEvent) => void>()
let props: PropEntry[] = [{ key: 'title', value: 'Notes' }]
let settings: Settings = {
  displayName: 'Ann',
  color: '#e5484d',
  deviceId: 'AAAA-BBBB-CCCC-DDDD',
  online: true,
  keepDeleted: 4,
}
const member = { online: false, me: false, creator: false, flagged: false, withholding: false }
let sharing: SharingInfo = {
  docId: DOC,
  sharedOnLan: false,
  myRole: 'owner',
  members: [
    { ...member, device: 'aa', deviceId: 'AAAA-BBBB', name: 'Ann', role: 'owner', online: true, me: true },
    { ...member, device: 'bb', deviceId: 'BBBB-CCCC', name: 'Bob', role: 'editor' },
    { ...member, device: 'cc', deviceId: 'CCCC-DDDD', name: 'Cat', role: 'owner', creator: true },
    { ...member, device: 'mm', deviceId: 'MMMM-NNNN', name: 'Mal', role: 'editor', flagged: true },
    { ...member, device: 'ww', deviceId: 'WWWW-XXXX', name: 'Wes', role: 'editor', withholding: true },
  ],
  invites: [
    { id: 'i1', role: 'editor', expires: Date.now() + 23 * 3_600_000 + 60_000 },
    { id: 'i2', role: 'viewer', expires: Date.now() + 90 * 60_000 },
  ],
}

const record =
  (name: string) =>
  (...args: unknown[]): void => {
    calls.push([name, ...args])
  }

const api = {
  onEvent: (listener: (event: ApiEvent) => void) => {
    listeners.add(listener)
    return () => listeners.delete(listener)
  },
  nearby: () =>
    ok([
      {
        device: 'cc',
        deviceId: 'CCCC-DDDD',
        name: 'Cat',
        docs: [
          { docId: 'x'.repeat(32), title: 'Plan', ownerName: 'Cat', memberCount: 2, joined: false },
          { docId: 'y'.repeat(32), title: 'Old', ownerName: 'Cat', memberCount: 1, joined: true },
        ],
      },
    ]),
  requestJoin: (...a: unknown[]) => (record('requestJoin')(...a), ok(null)),
  joinWithInvite: (...a: unknown[]) => (record('joinWithInvite')(...a), ok('z'.repeat(32))),
  addPeer: (address: string) => (
    record('addPeer')(address),
    address.includes(':') ? ok(address) : fail('Bad address.')
  ),
  joinRequests: () =>
    ok([{ id: 'r1', docId: DOC, docTitle: 'Notes', device: 'ee', deviceId: 'EEEE', name: 'Eve' }]),
  answerJoin: (...a: unknown[]) => (record('answerJoin')(...a), ok(null)),
  sharing: () => ok(sharing),
  setSharedOnLan: (_d: string, on: boolean) => (
    record('setSharedOnLan')(on),
    ok({ ...sharing, sharedOnLan: on })
  ),
  createInvite: (_d: string, role: 'editor' | 'viewer') =>
    ok({ code: 'CODE123', link: 'meshpad://join/CODE123', role, expires: Date.now() + 3_600_000 }),
  setRole: (...a: unknown[]) => (record('setRole')(...a), ok(sharing)),
  removeMember: (_d: string, device: string) => (
    record('removeMember')(device),
    ok({ ...sharing, members: sharing.members.filter((m) => m.device !== device) })
  ),
  revokeInvite: (_d: string, id: string) => {
    record('revokeInvite')(id)
    sharing = { ...sharing, invites: sharing.invites.filter((i) => i.id !== id) }
    return ok(sharing)
  },
  props: () => ok(props),
  setProp: (_d: string, key: string, value: string) => {
    record('setProp')(key, value)
    props = [...props.filter((p) => p.key !== key), { key, value }]
    return ok(props)
  },
  deleteProp: (_d: string, key: string) => {
    record('deleteProp')(key)
    props = props.filter((p) => p.key !== key)
    return ok(props)
  },
  settings: () => ok(settings),
  setSettings: (change: Partial<Settings>) => {
    record('setSettings')(change)
    if (change.displayName === '') return fail('A display name is 1–64 characters.')
    settings = { ...settings, ...change }
    return ok(settings)
  },
} as unknown as MeshpadBridge

Object.assign(window, {
  calls,
  opened,
  projectInvites,
  emit: (event: ApiEvent) => listeners.forEach((l) => l(event)),
})

const root = document.createElement('div')
document.body.append(root)
createRoot(root).render(
  createElement(
    Fragment,
    null,
    createElement(NearbyPanel, {
      api,
      onOpenDoc: (docId: string) => opened.push(docId),
      onProjectInvite: (code: string) => projectInvites.push(code),
    }),
    createElement(JoinRequests, { api }),
    createElement(SharePanel, { api, docId: DOC }),
    createElement(PropertiesPanel, { api, docId: DOC, readOnly: false }),
    createElement(SettingsPanel, { api }),
    // A past version with text deleted long ago and dropped (U+FFFD in its place).
    createElement(Preview, {
      text: 'The plan.\n\ufffd\ufffd\ufffd\ufffd then more.\n',
      label: 'Version 2 of 9',
      language: null,
      fileName: 'plan.txt',
    }),
  ),
)
