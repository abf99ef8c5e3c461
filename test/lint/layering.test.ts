import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const fixture = (name: string): string => readFileSync(join(__dirname, 'fixtures', name), 'utf8')

/** Lints a fixture as if it lived at `filePath` in the project, and returns the layering messages. */
async function layeringErrors(name: string, filePath: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: process.cwd() })
  const [result] = await eslint.lintText(fixture(name), { filePath: join(process.cwd(), filePath) })
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals')
    .map((m) => `${m.line}: ${m.message}`)
}

describe('import layering rule', () => {
  it('rejects Node, Electron, React and DOM in src/shared', async () => {
    const errors = await layeringErrors('shared-imports-node.ts', 'src/shared/crdt/bad.ts')
    expect(errors.join('\n')).toMatch(/2: .*'node:fs'/)
    expect(errors.join('\n')).toMatch(/3: .*'path'/)
    expect(errors.join('\n')).toMatch(/4: .*'electron'/)
    expect(errors.join('\n')).toMatch(/5: .*'react'/)
    expect(errors.join('\n')).toMatch(/7: .*document/)
  })

  it('rejects src/main and electron in the renderer', async () => {
    const errors = await layeringErrors('renderer-imports-main.ts', 'src/renderer/src/bad.ts')
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatch(/^2: .*must not import src\/main/)
    expect(errors[1]).toMatch(/^3: .*'electron'/)
  })

  it('rejects electron in the node outside the shell, and allows it in the shell', async () => {
    expect(await layeringErrors('main-imports-electron.ts', 'src/main/node/bad.ts')).toHaveLength(1)
    expect(await layeringErrors('main-imports-electron.ts', 'src/main/storage/bad.ts')).toHaveLength(1)
    expect(await layeringErrors('main-imports-electron.ts', 'src/main/index.ts')).toEqual([])
    expect(await layeringErrors('main-imports-electron.ts', 'src/main/hosts/electron-ipc.ts')).toEqual([])
    expect(await layeringErrors('main-imports-electron.ts', 'src/preload/index.ts')).toEqual([])
  })

  it('lets every layer import src/shared', async () => {
    for (const at of ['src/main/x.ts', 'src/renderer/x.ts', 'src/preload/x.ts']) {
      expect(await layeringErrors('allowed.ts', at)).toEqual([])
    }
  })
})
