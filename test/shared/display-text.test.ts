import { describe, expect, it } from 'vitest'
import { displayLabel, displayText, terminalJson } from '../../src/shared/display-text'

describe('display text', () => {
  it('shows control and bidi-override characters as visible stand-ins, keeping line breaks in text', () => {
    expect(displayText('a\u001b]0;owned\u0007b')).toBe('a\u241b]0;owned\u2407b')
    expect(displayText('x\u009by\u007f')).toBe('x\uFFFDy\u2421')
    expect(displayText('admin\u202Egnp.exe')).toBe('admin\uFFFDgnp.exe')
    expect(displayText('two\nlines\tand a tab')).toBe('two\nlines\tand a tab')
    expect(displayText('plain, émoji 😀, 中文')).toBe('plain, émoji 😀, 中文')
  })

  it('keeps a label on one line', () => {
    expect(displayLabel('ana\nok\nerror: fake')).toBe('ana\u23CEok\u23CEerror: fake')
    expect(displayLabel('a\u2028b\tc')).toBe('a\u23CEb c')
  })

  it('writes JSON that a terminal cannot act on and that parses back exactly', () => {
    const value = { text: '\u001b[2J\u0085\u2028\u202E\uFEFFx\u0000', n: 1 }
    const json = terminalJson(value)
    expect(displayText(json)).toBe(json)
    expect(JSON.parse(json)).toEqual(value)
  })
})
