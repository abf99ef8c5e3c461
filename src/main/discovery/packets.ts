/**
 * Reading packets from the network. dns-packet decodes the bytes; everything it yields is still
 * untrusted, so each field is checked here and only well-formed Meshpad records come out. A record
 * that fails a check is dropped alone; the rest of the packet still counts.
 */
import { isIPv4 } from './interfaces'
import { instanceOf, isLocalHostName, SERVICE_ENUMERATION, SERVICE_TYPE, sameName } from './service'
import { parseTxt, type TxtInfo } from './txt'

/** Records looked at per packet: a packet stuffed with thousands costs no more than this. */
const MAX_RECORDS = 64
const MAX_QUESTIONS = 32
/** TTLs above this are cut down (75 min, DNS-SD's usual maximum): no record lives forever. */
export const MAX_TTL_S = 4500

export type ObservedRecord =
  | { readonly kind: 'ptr'; readonly instance: string; readonly ttl: number }
  | {
      readonly kind: 'srv'
      readonly instance: string
      readonly port: number
      readonly target: string
      readonly ttl: number
    }
  | { readonly kind: 'txt'; readonly instance: string; readonly txt: TxtInfo; readonly ttl: number }
  | { readonly kind: 'a'; readonly host: string; readonly address: string; readonly ttl: number }

export type QuestionKind = 'service' | 'enumeration' | 'instance' | 'host'

export type QuestionType = 'PTR' | 'SRV' | 'TXT' | 'A' | 'ANY'

export interface ObservedQuestion {
  readonly kind: QuestionKind
  /** The name as asked (echoed in legacy unicast answers). */
  readonly name: string
  readonly type: QuestionType
  /** For `instance` and `host` questions: the label asked about. */
  readonly label: string
}

export interface ObservedQuery {
  readonly id: number
  readonly questions: readonly ObservedQuestion[]
  /** Instances named by PTR known answers with their TTL (known-answer suppression, RFC 6762 §7.1). */
  readonly knownInstances: ReadonlyMap<string, number>
}

interface RawRecord {
  readonly name?: unknown
  readonly type?: unknown
  readonly class?: unknown
  readonly ttl?: unknown
  readonly data?: unknown
}

const records = (value: unknown): RawRecord[] =>
  Array.isArray(value) ? value.filter((r): r is RawRecord => typeof r === 'object' && r !== null) : []

const field = (packet: unknown, key: string): unknown =>
  typeof packet === 'object' && packet !== null ? (packet as Record<string, unknown>)[key] : undefined

function ttlOf(record: RawRecord): number | null {
  const ttl = record.ttl
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0) return null
  return Math.min(ttl, MAX_TTL_S)
}

/** Meshpad records in a response (answers and additionals), each checked; everything else dropped. */
export function readResponse(packet: unknown): ObservedRecord[] {
  const all = [...records(field(packet, 'answers')), ...records(field(packet, 'additionals'))]
  const out: ObservedRecord[] = []
  for (const record of all.slice(0, MAX_RECORDS)) {
    const observed = readRecord(record)
    if (observed) out.push(observed)
  }
  return out
}

function readRecord(record: RawRecord): ObservedRecord | null {
  // dns-packet strips the cache-flush bit from the class; anything but IN is not ours.
  if (record.class !== 'IN' || typeof record.name !== 'string') return null
  const ttl = ttlOf(record)
  if (ttl === null) return null
  const { name, data } = record
  switch (record.type) {
    case 'PTR': {
      if (!sameName(name, SERVICE_TYPE)) return null
      const instance = instanceOf(data)
      return instance === null ? null : { kind: 'ptr', instance, ttl }
    }
    case 'SRV': {
      const instance = instanceOf(name)
      const port = field(data, 'port')
      const target = field(data, 'target')
      if (instance === null || !isPort(port) || !isLocalHostName(target)) return null
      return { kind: 'srv', instance, port, target, ttl }
    }
    case 'TXT': {
      const instance = instanceOf(name)
      const txt = parseTxt(data)
      return instance === null || txt === null ? null : { kind: 'txt', instance, txt, ttl }
    }
    case 'A':
      if (!isLocalHostName(name) || !isIPv4(data)) return null
      return { kind: 'a', host: name, address: data, ttl }
    default:
      return null
  }
}

/** The questions of a query that this responder may answer. */
export function readQuery(packet: unknown): ObservedQuery {
  const rawId = field(packet, 'id')
  const id = typeof rawId === 'number' && Number.isInteger(rawId) && rawId >= 0 && rawId <= 0xffff ? rawId : 0
  const questions: ObservedQuestion[] = []
  for (const q of records(field(packet, 'questions')).slice(0, MAX_QUESTIONS)) {
    const observed = readQuestion(q)
    if (observed) questions.push(observed)
  }
  const knownInstances = new Map<string, number>()
  for (const record of records(field(packet, 'answers')).slice(0, MAX_RECORDS)) {
    const observed = readRecord(record)
    if (observed?.kind === 'ptr') knownInstances.set(observed.instance.toLowerCase(), observed.ttl)
  }
  return { id, questions, knownInstances }
}

/**
 * dns-packet leaves the unicast-response bit in a question's class, as `UNKNOWN_32769` (IN) or
 * `UNKNOWN_33023` (ANY). Such questions are answered by multicast, which RFC 6762 §5.4 allows.
 */
const QUESTION_CLASSES = new Set(['IN', 'ANY', 'UNKNOWN_32769', 'UNKNOWN_33023'])
const QUESTION_TYPES: ReadonlySet<unknown> = new Set<QuestionType>(['PTR', 'SRV', 'TXT', 'A', 'ANY'])
const isQuestionType = (type: unknown): type is QuestionType => QUESTION_TYPES.has(type)

function readQuestion(q: RawRecord): ObservedQuestion | null {
  const { name, type } = q
  if (typeof name !== 'string' || !isQuestionType(type)) return null
  if (!(q.class === undefined || QUESTION_CLASSES.has(String(q.class)))) return null
  if (sameName(name, SERVICE_TYPE)) return { kind: 'service', name, type, label: '' }
  if (sameName(name, SERVICE_ENUMERATION)) return { kind: 'enumeration', name, type, label: '' }
  const instance = instanceOf(name)
  if (instance !== null) return { kind: 'instance', name, type, label: instance }
  if (isLocalHostName(name) && name.split('.').length === 2) {
    return { kind: 'host', name, type, label: name.split('.')[0]! }
  }
  return null
}

export const isPort = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535
