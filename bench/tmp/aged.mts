// Builds an aged document (many sessions, replicas, random edits) and times reading its whole history.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { buildSync } from 'esbuild'
buildSync({ entryPoints: ['src/shared/crdt/index.ts'], bundle: true, format: 'esm', outfile: '/tmp/crdt-bundle2.mjs' })
const { TextDoc } = await import('/tmp/crdt-bundle2.mjs' as string)
const { seededRandom } = await import('../../src/shared/random.ts')
const file = '/tmp/aged-state.json'
if (!existsSync(file)) {
  const random = seededRandom(5)
  let saved: { state: Uint8Array; history: Uint8Array[] } | null = null
  let doc: any = null
  for (let s = 0; s < 60; s++) {
    const replica = 'rep' + String(s).padStart(9, '0')
    doc = saved ? TextDoc.loadState(saved.state, replica, { history: saved.history }) : new TextDoc(replica)
    for (let i = 0; i < 3000; i++) {
      const len = doc.length
      if (random() < 0.3 && len > 20) { const at = Math.floor(random() * (len - 10)); doc.localDelete(at, 1 + Math.floor(random() * 8)) }
      else { const at = random() < 0.5 && len > 0 ? Math.floor(random() * len) : len; doc.localInsert(at, 'abcdefgh'.slice(0, 1 + Math.floor(random() * 3))) }
    }
    saved = doc.saveStateApart()
  }
  writeFileSync(file, JSON.stringify({ state: Buffer.from(saved!.state).toString('base64'), history: saved!.history.map((h) => Buffer.from(h).toString('base64')) }))
  console.log('built; text', doc.length)
}
const j = JSON.parse(readFileSync(file, 'utf8'))
const state = new Uint8Array(Buffer.from(j.state, 'base64'))
const history = j.history.map((h: string) => new Uint8Array(Buffer.from(h, 'base64')))
function read() { const d = TextDoc.loadState(state, 'reader', { history }); const t0 = performance.now(); const n = readAll(d); return [performance.now() - t0, n] }
function readAll(d: any) { return d.history().length }
const out = []
for (let i = 0; i < Number(process.env.RUNS ?? 3); i++) out.push(read())
console.log(out.map(([ms, n]) => `${ms.toFixed(0)}ms/${n}`).join(' '))
export {}
