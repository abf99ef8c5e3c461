// ESLint flat config. Besides the usual TypeScript rules it enforces the import layering from
// docs/ARCHITECTURE.md, because a stray `node:` import in src/shared or an `electron` import outside
// the shell breaks the renderer bundle or the plain-Node tests at runtime, far from the line at fault.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import { builtinModules } from 'node:module'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'node:*']
const electron = {
  name: 'electron',
  message: 'Only src/main/index.ts, src/main/hosts/electron* and src/preload import electron.',
}
const nodeOnly = nodeBuiltins.map((name) => ({
  name,
  message: 'This layer runs outside Node: no Node built-ins.',
}))
const uiLibs = ['react', 'react-dom', 'react-dom/client', 'react/jsx-runtime', 'codemirror'].map((name) => ({
  name,
  message: 'UI libraries belong in src/renderer.',
}))
const intoMain = { group: ['**/main', '**/main/**'], message: 'This layer must not import src/main.' }
const intoPreload = { group: ['**/preload', '**/preload/**'], message: 'Nothing imports the preload script.' }
const intoRenderer = {
  group: ['**/renderer', '**/renderer/**'],
  message: 'Only the renderer imports src/renderer.',
}
const codemirror = { group: ['@codemirror/*'], message: 'UI libraries belong in src/renderer.' }

/** One `no-restricted-imports` setting per layer (ESLint replaces, not merges, a rule's options). */
const restrict = (paths, patterns) => ({ 'no-restricted-imports': ['error', { paths, patterns }] })

export const layers = [
  {
    name: 'layer/shared',
    files: ['src/shared/**/*.{ts,tsx}'],
    rules: {
      ...restrict([...nodeOnly, electron, ...uiLibs], [intoMain, intoPreload, intoRenderer, codemirror]),
      'no-restricted-globals': [
        'error',
        ...['window', 'document', 'navigator', 'localStorage', 'process', 'Buffer', 'require', 'global'].map(
          (name) => ({ name, message: 'src/shared is pure: no DOM or Node globals.' }),
        ),
      ],
    },
  },
  {
    name: 'layer/renderer',
    files: ['src/renderer/**/*.{ts,tsx}'],
    rules: restrict([...nodeOnly, electron], [intoMain, intoPreload]),
  },
  {
    name: 'layer/main',
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/index.ts', 'src/main/hosts/electron*'],
    rules: restrict([electron, ...uiLibs], [intoRenderer, intoPreload, codemirror]),
  },
  {
    name: 'layer/electron-shell',
    files: ['src/main/index.ts', 'src/main/hosts/electron*'],
    rules: restrict(uiLibs, [intoRenderer, intoPreload, codemirror]),
  },
  {
    name: 'layer/preload',
    files: ['src/preload/**/*.ts'],
    rules: restrict([...uiLibs], [intoMain, intoRenderer, codemirror]),
  },
  {
    name: 'layer/tests-and-tools',
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: restrict([electron], []),
  },
]

export default tseslint.config(
  {
    ignores: ['out/**', 'dist/**', 'artifacts/**', 'node_modules/**', 'test/lint/fixtures/**', '.scratch/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  ...tseslint.configs.stylistic,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/renderer/**/*.tsx', 'src/renderer/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '.ci/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  ...layers,
)
