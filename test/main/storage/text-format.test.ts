import { describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/main/storage/errors'
import {
  decodeAs,
  decodeText,
  encodeText,
  savedFormat,
  utf8Body,
  type TextEncoding,
  type TextFormat,
} from '../../../src/main/storage/text-format'

const encodings: TextEncoding[] = ['utf8', 'utf8-bom', 'utf16le', 'utf16be']
const raw = (s: string, encoding: TextEncoding): Uint8Array => {
  const bom = { utf8: '', 'utf8-bom': '\uFEFF', utf16le: '\uFEFF', utf16be: '\uFEFF' }[encoding]
  const buf = Buffer.from(bom + s, encoding === 'utf8' || encoding === 'utf8-bom' ? 'utf8' : 'utf16le')
  return new Uint8Array(encoding === 'utf16be' ? buf.swap16() : buf)
}

describe('text format detection', () => {
  const samples = {
    lf: 'first line\nsecond — ünïcödé 🎉\n\nlast',
    crlf: 'first line\r\nsecond — ünïcödé 🎉\r\n\r\nlast\r\n',
    mixed: 'unix\nwindows\r\nold mac\rend',
    none: 'no line break at all 🎉',
    empty: '',
  }

  for (const encoding of encodings) {
    for (const [name, sample] of Object.entries(samples)) {
      it(`round-trips ${name} line endings in ${encoding} byte for byte`, () => {
        const bytes = raw(sample, encoding)
        const { text, format } = decodeText(bytes, '/x.txt')
        expect(format.encoding).toBe(name === 'empty' && encoding === 'utf8' ? 'utf8' : encoding)
        expect(Buffer.from(encodeText(text, format)).equals(Buffer.from(bytes))).toBe(true)
      })
    }
  }

  it('gives the document LF for a CRLF file and keeps mixed files verbatim', () => {
    expect(decodeText(raw(samples.crlf, 'utf8'), '/x')).toEqual({
      text: samples.crlf.replaceAll('\r\n', '\n'),
      format: { encoding: 'utf8', eol: 'crlf' },
    })
    expect(decodeText(raw(samples.mixed, 'utf8'), '/x')).toEqual({
      text: samples.mixed,
      format: { encoding: 'utf8', eol: 'verbatim' },
    })
    expect(decodeText(raw(samples.lf, 'utf16be'), '/x').format).toEqual({ encoding: 'utf16be', eol: 'lf' })
  })

  it('writes CRLF back for lines added to a CRLF document', () => {
    const { text, format } = decodeText(raw('a\r\nb', 'utf8-bom'), '/x')
    expect(Buffer.from(encodeText(`${text}\nc`, format)).toString('utf8')).toBe('\uFEFFa\r\nb\r\nc')
  })

  it('keeps a second BOM as a character', () => {
    const { text } = decodeText(raw('\uFEFFx', 'utf8-bom'), '/x')
    expect(text).toBe('\uFEFFx')
  })

  it.each([
    ['invalid UTF-8', new Uint8Array([0x61, 0xff, 0xfe, 0x62]).subarray(0), /not valid UTF-8/],
    ['a NUL byte', new Uint8Array([0x61, 0x00, 0x62]), /NUL/],
    ['UTF-16 without a BOM', new Uint8Array(Buffer.from('text', 'utf16le')), /NUL/],
    ['UTF-16 of odd length', new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x62]), /not valid UTF-16LE/],
    [
      'a lone surrogate in UTF-16',
      new Uint8Array([0xfe, 0xff, 0xd8, 0x00, 0x00, 0x61]),
      /not valid UTF-16BE/,
    ],
  ])('refuses %s as not text, naming the file', (_name, bytes, why) => {
    let error: unknown
    try {
      decodeText(bytes, '/home/u/file.bin')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ code: 'NOT_TEXT', path: '/home/u/file.bin' })
    expect((error as Error).message).toMatch(why)
    expect((error as Error).message).toContain('/home/u/file.bin')
  })
})

describe('the byte-order-mark rule, NUL in linked files, and decoding in a known format', () => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

  it('saves a text starting with U+FEFF after a BOM, in UTF-8 without one too, and strips exactly one', () => {
    const utf8: TextFormat = { encoding: 'utf8', eol: 'lf' }
    expect(savedFormat('\uFEFFx', utf8)).toEqual({ encoding: 'utf8-bom', eol: 'lf' })
    expect(savedFormat('x\uFEFF', utf8)).toBe(utf8)
    expect(hex(encodeText('\uFEFFx', utf8))).toBe('efbbbfefbbbf78')
    expect(hex(encodeText('\uFEFFx', { encoding: 'utf8-bom', eol: 'lf' }))).toBe('efbbbfefbbbf78')
    expect(hex(encodeText('\uFEFFx', { encoding: 'utf16be', eol: 'lf' }))).toBe('fefffeff0078')
    for (const encoding of encodings) {
      const bytes = encodeText('\uFEFFx\n', { encoding, eol: 'crlf' })
      expect(decodeText(bytes, '/x').text, encoding).toBe('\uFEFFx\n')
    }
  })

  it('decodes NUL only when asked (a file linked to a document)', () => {
    const bytes = new Uint8Array([0x61, 0x00, 0x62])
    expect(() => decodeText(bytes, '/x')).toThrow(/NUL/)
    expect(decodeText(bytes, '/x', { allowNul: true }).text).toBe('a\u0000b')
    const utf16 = encodeText('a\u0000b', { encoding: 'utf16le', eol: 'lf' })
    expect(() => decodeText(utf16, '/x')).toThrow(/NUL/)
    expect(decodeText(utf16, '/x', { allowNul: true }).text).toBe('a\u0000b')
  })

  it('decodes ASCII (its Latin-1 shortcut) as UTF-8 does, and refuses what is not UTF-8 past it', () => {
    const ascii = Buffer.from(
      'line one\r\nline two\r\n\t~ every printable: ' +
        String.fromCharCode(...Array.from({ length: 95 }, (_, i) => 32 + i)),
    )
    expect(decodeText(ascii, '/x')).toEqual({
      text: ascii.toString('utf8').replaceAll('\r\n', '\n'),
      format: { encoding: 'utf8', eol: 'crlf' },
    })
    expect(decodeText(Buffer.from('ascii then é'), '/x').text).toBe('ascii then é')
    expect(() => decodeText(new Uint8Array([0x61, 0x62, 0xe9, 0x63]), '/x')).toThrow(/not valid UTF-8/)
    expect(decodeAs(Buffer.from('\uFEFFab'), { encoding: 'utf8-bom', eol: 'lf' }, '/x')).toBe('ab')
  })

  it('decodeAs undoes encodeText exactly, whatever \\r the text holds', () => {
    const texts = ['a\r\nb\r\n', 'x\r', '\r\n\n\r\r\n', '\uFEFF\r\n', 'plain']
    for (const encoding of encodings) {
      for (const eol of ['lf', 'crlf', 'verbatim'] as const) {
        for (const text of texts) {
          const format = savedFormat(text, { encoding, eol })
          expect(
            decodeAs(encodeText(text, format), format, '/x'),
            `${encoding} ${eol} ${JSON.stringify(text)}`,
          ).toBe(text)
        }
      }
    }
    expect(() =>
      decodeAs(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), { encoding: 'utf8', eol: 'lf' }, '/x'),
    ).toThrow(/recorded encoding/)
  })
})

describe('the bytes of a file that are its text’s UTF-8', () => {
  const text = 'Grüße\n\uFEFFwelt\r\nmixed\n'
  it('are a UTF-8 file’s bytes after its BOM, whose line endings were kept', () => {
    for (const encoding of ['utf8', 'utf8-bom'] as const) {
      const bytes = raw(text, encoding)
      const decoded = decodeText(bytes, 'f.txt')
      expect(decoded.format.eol).toBe('verbatim')
      const body = utf8Body(bytes, decoded.format)
      expect(body && Buffer.from(body).equals(Buffer.from(decoded.text, 'utf8'))).toBe(true)
    }
  })

  it('are none for a CRLF file (its text lost the \r) or UTF-16', () => {
    const crlf = raw('one\r\ntwo\r\n', 'utf8')
    expect(utf8Body(crlf, decodeText(crlf, 'f.txt').format)).toBeNull()
    for (const encoding of ['utf16le', 'utf16be'] as const) {
      const bytes = raw('one\ntwo\n', encoding)
      expect(utf8Body(bytes, decodeText(bytes, 'f.txt').format)).toBeNull()
    }
  })
})
