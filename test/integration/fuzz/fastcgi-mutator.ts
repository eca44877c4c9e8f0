// This file implements seeded mutation of FastCGI inputs from the perspective of a fuzzer
// attacking the supervisor's socket: a corpus of well-formed exchanges (nginx's and Apache's
// shapes, keep-alive, GET_VALUES, aborts, unknown types, big params), each mutated at the byte
// level (bit flips, replaced, inserted, deleted, duplicated bytes, truncation) and at the record
// level (type, version, request id, lengths and padding rewritten; records dropped, repeated,
// reordered, split into tiny ones). The same seed gives the same inputs.
import { encodeBeginRequest, encodeNameValuePairs, encodeRecord, encodeStream, FCGI } from '../helpers/fastcgi-wire.ts';

/** A seeded PRNG (mulberry32): uniform 32-bit integers. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** An integer in [0, 2^32). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.below(256);
    return out;
  }
}

/** One record of a corpus entry, before encoding. */
interface Rec {
  type: number;
  requestId: number;
  content: Buffer;
}

/** The well-formed exchanges mutations start from, as records. */
export function corpus(params: Record<string, string>, missing: Record<string, string>): Rec[][] {
  const pairs = encodeNameValuePairs(Object.entries(params));
  const begin = (id: number, keep: boolean): Rec => ({ type: FCGI.FCGI_BEGIN_REQUEST, requestId: id, content: encodeBeginRequest(id, keep).subarray(8, 16) });
  const rec = (type: number, requestId: number, content: Buffer = Buffer.alloc(0)): Rec => ({ type, requestId, content });
  const request = (id: number, keep: boolean, p: Buffer = pairs, body: Buffer = Buffer.from('a=1&b=2')): Rec[] => [
    begin(id, keep), rec(FCGI.FCGI_PARAMS, id, p), rec(FCGI.FCGI_PARAMS, id), rec(FCGI.FCGI_STDIN, id, body), rec(FCGI.FCGI_STDIN, id),
  ];
  const perPair = Object.entries(params).map(([k, v]) => rec(FCGI.FCGI_PARAMS, 1, encodeNameValuePairs([[k, v]])));
  const big = encodeNameValuePairs([...Object.entries(params), ['HTTP_X_BIG', 'x'.repeat(9000)]]);
  return [
    request(1, false),
    [...request(1, true), ...request(1, true)],
    [rec(FCGI.FCGI_GET_VALUES, 0, encodeNameValuePairs([['FCGI_MAX_CONNS', ''], ['FCGI_MAX_REQS', ''], ['FCGI_MPXS_CONNS', '']]))],
    [begin(1, false), ...perPair, rec(FCGI.FCGI_PARAMS, 1), rec(FCGI.FCGI_STDIN, 1)],
    request(1, false, encodeNameValuePairs(Object.entries(missing))),
    [begin(1, true), rec(FCGI.FCGI_PARAMS, 1, pairs), rec(FCGI.FCGI_PARAMS, 1), rec(FCGI.FCGI_ABORT_REQUEST, 1)],
    [begin(1, true), rec(FCGI.FCGI_ABORT_REQUEST, 1), ...request(2, false)],
    [rec(200, 0, Buffer.from('unknown')), ...request(1, false)],
    request(1, false, big, Buffer.alloc(9000, 0x62)),
    [begin(1, false), rec(FCGI.FCGI_PARAMS, 1, pairs), rec(FCGI.FCGI_PARAMS, 1), rec(FCGI.FCGI_DATA, 1, Buffer.from('d')), rec(FCGI.FCGI_STDIN, 1)],
  ];
}

/** Encodes records, a record over 65535 bytes as a stream of records. */
function encode(records: readonly Rec[]): Buffer {
  return Buffer.concat(records.map((r) => (r.content.length > 65535 ? encodeStream(r.type, r.requestId, r.content) : encodeRecord(r.type, r.requestId, r.content))));
}

/** One record-level mutation, in place. */
function mutateRecords(rnd: Random, records: Rec[]): void {
  if (records.length === 0) return;
  const i = rnd.below(records.length);
  const r = records[i]!;
  switch (rnd.below(8)) {
    case 0: r.type = rnd.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 255, rnd.below(256)]); return;
    case 1: r.requestId = rnd.pick([0, 1, 2, 65535, rnd.below(65536)]); return;
    case 2: records.splice(i, 1); return;
    case 3: records.splice(i, 0, { ...r }); return;
    case 4: records.splice(rnd.below(records.length), 0, ...records.splice(i, 1)); return;
    case 5: r.content = Buffer.concat([r.content, rnd.bytes(rnd.below(64))]); return;
    case 6: r.content = r.content.subarray(0, rnd.below(r.content.length + 1)); return;
    default: {
      // Split the content into tiny records (a byte stream across PARAMS/STDIN).
      const size = 1 + rnd.below(7);
      const parts: Rec[] = [];
      for (let at = 0; at < r.content.length; at += size) parts.push({ ...r, content: r.content.subarray(at, at + size) });
      records.splice(i, 1, ...parts);
    }
  }
}

/** One byte-level mutation. */
function mutateBytes(rnd: Random, input: Buffer): Buffer {
  if (input.length === 0) return rnd.bytes(1 + rnd.below(32));
  const at = rnd.below(input.length);
  switch (rnd.below(9)) {
    case 0: { const out = Buffer.from(input); out[at] = (out[at] ?? 0) ^ (1 << rnd.below(8)); return out; }
    case 1: { const out = Buffer.from(input); out[at] = rnd.below(256); return out; }
    case 2: return Buffer.concat([input.subarray(0, at), rnd.bytes(1 + rnd.below(16)), input.subarray(at)]);
    case 3: return Buffer.concat([input.subarray(0, at), input.subarray(at + 1 + rnd.below(64))]);
    case 4: return Buffer.concat([input.subarray(0, at), input.subarray(at, at + 1 + rnd.below(256)), input.subarray(at)]);
    case 5: return input.subarray(0, at);
    case 6: {
      // A header field at a record-aligned offset: version, type, id, content length, padding.
      const out = Buffer.from(input);
      const base = at - (at % 8);
      const field = rnd.below(5);
      if (field === 0) out[base] = rnd.pick([0, 2, 255]);
      else if (field === 1) out[base + 1] = rnd.below(256);
      else if (field === 2 && base + 3 < out.length) out.writeUInt16BE(rnd.pick([0, 1, 65535]), base + 2);
      else if (field === 3 && base + 5 < out.length) out.writeUInt16BE(rnd.pick([0, 65535, rnd.below(65536)]), base + 4);
      else if (base + 6 < out.length) out[base + 6] = rnd.below(256);
      return out;
    }
    case 7: return Buffer.concat([input, input.subarray(0, rnd.below(input.length))]);
    default: return Buffer.concat([input, rnd.bytes(1 + rnd.below(64))]);
  }
}

/** The `n`th input of a run: a corpus entry with 1-4 record-level and 0-3 byte-level mutations. */
export function mutatedInput(rnd: Random, entries: readonly (readonly Rec[])[]): Buffer {
  const records = (rnd.pick(entries)).map((r) => ({ ...r }));
  for (let i = rnd.below(4); i >= 0; i--) mutateRecords(rnd, records);
  let input = encode(records);
  for (let i = rnd.below(4); i > 0; i--) input = mutateBytes(rnd, input);
  return input;
}
