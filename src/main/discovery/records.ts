/**
 * This node's own records and the answers to a query: PTR (service → instance), SRV (port, host),
 * TXT (version, hints), A (the address on the interface the packet goes out of). SRV, TXT and A are
 * unique to this instance, so they carry the cache-flush bit; the PTRs are shared (RFC 6762 §10.2).
 */
import type { SrvAnswer, StringAnswer, TxtAnswer } from 'dns-packet'
import type { ObservedQuery, QuestionType } from './packets'
import { instanceFullName, instanceHostName, sameName, SERVICE_ENUMERATION, SERVICE_TYPE } from './service'

export interface OwnService {
  readonly instance: string
  /** The TCP port peers dial. */
  readonly port: number
  readonly txt: readonly Buffer[]
  /** Record TTL in seconds. */
  readonly ttl: number
}

export type OwnRecord = StringAnswer | SrvAnswer | TxtAnswer

interface OwnRecords {
  readonly ptr: StringAnswer
  readonly srv: SrvAnswer
  readonly txt: TxtAnswer
  readonly a: StringAnswer
  readonly enumeration: StringAnswer
}

function own(service: OwnService, address: string, ttl: number): OwnRecords {
  const full = instanceFullName(service.instance)
  const host = instanceHostName(service.instance)
  return {
    ptr: { name: SERVICE_TYPE, type: 'PTR', ttl, data: full },
    srv: { name: full, type: 'SRV', ttl, flush: true, data: { port: service.port, target: host } },
    txt: { name: full, type: 'TXT', ttl, flush: true, data: [...service.txt] },
    a: { name: host, type: 'A', ttl, flush: true, data: address },
    enumeration: { name: SERVICE_ENUMERATION, type: 'PTR', ttl, data: SERVICE_TYPE },
  }
}

/** Everything, for an announcement; with TTL 0, the goodbye. */
export function announcement(service: OwnService, address: string, goodbye = false): OwnRecord[] {
  const r = own(service, address, goodbye ? 0 : service.ttl)
  return [r.ptr, r.srv, r.txt, r.a]
}

/** What to answer to `query` (null: nothing asked concerns us). */
export function answerQuery(
  query: ObservedQuery,
  service: OwnService,
  address: string,
): { answers: OwnRecord[]; additionals: OwnRecord[] } | null {
  const r = own(service, address, service.ttl)
  const answers = new Set<OwnRecord>()
  const additionals = new Set<OwnRecord>()
  const known = query.knownInstances.get(service.instance.toLowerCase())
  const ptrKnown = known !== undefined && known >= service.ttl / 2
  const wants = (type: QuestionType, ...accepted: QuestionType[]): boolean =>
    type === 'ANY' || accepted.includes(type)
  for (const q of query.questions) {
    if (q.kind === 'service' && wants(q.type, 'PTR') && !ptrKnown) {
      answers.add(r.ptr)
      for (const x of [r.srv, r.txt, r.a]) additionals.add(x)
    } else if (q.kind === 'enumeration' && wants(q.type, 'PTR')) {
      answers.add(r.enumeration)
    } else if (q.kind === 'instance' && sameName(q.label, service.instance)) {
      if (wants(q.type, 'SRV')) {
        answers.add(r.srv)
        additionals.add(r.a)
      }
      if (wants(q.type, 'TXT')) answers.add(r.txt)
    } else if (q.kind === 'host' && sameName(q.label, service.instance) && wants(q.type, 'A')) {
      answers.add(r.a)
    }
  }
  if (answers.size === 0) return null
  for (const a of answers) additionals.delete(a)
  return { answers: [...answers], additionals: [...additionals] }
}

/** The same records for a legacy unicast answer (RFC 6762 §6.7): TTL at most 10 s, no cache-flush bit. */
export const legacyUnicast = (records: OwnRecord[], max = 10): OwnRecord[] =>
  records.map((r) => ({ ...r, ttl: Math.min(r.ttl ?? max, max), flush: false }) as OwnRecord)
