// This file implements the tests of the relay micro-bench from the perspective of its numbers:
// the client sees each answer once however the bytes are split and tells error answers, and a
// variant's row is its slices summed (CPU per request) and their median rate.
import { describe, expect, it } from 'vitest';
import { encodeRecord, FCGI } from '../../test/integration/helpers/fastcgi-wire.ts';
import { ReplyWalker } from './fcgi-load.ts';
import { relayRow, VARIANTS } from './relay-run.ts';
import { formatRelay } from './relay-report.ts';

function answer(head: string, protocolStatus = 0): Buffer {
  const end = Buffer.alloc(8);
  end.writeUInt8(protocolStatus, 4);
  return Buffer.concat([
    encodeRecord(FCGI.FCGI_STDOUT, 1, Buffer.from(`${head}\r\n\r\nbody`)),
    encodeRecord(FCGI.FCGI_STDOUT, 1),
    encodeRecord(FCGI.FCGI_END_REQUEST, 1, end),
  ]);
}

describe('bench relay', () => {
  it('counts each answer once, byte by byte, and tells errors by Status and protocol status', () => {
    const walker = new ReplyWalker();
    const seen: boolean[] = [];
    const bytes = Buffer.concat([
      answer('Content-Type: text/plain'),
      answer('Status: 503 Service Unavailable'),
      answer('X: y', 1),
    ]);
    for (const byte of bytes) walker.push(Buffer.from([byte]), (ok) => seen.push(ok));
    expect(seen).toEqual([true, false, false]);
  });

  it('sums a variant’s slices into CPU per request and takes the median rate', () => {
    const variant = VARIANTS[0];
    if (variant === undefined) throw new Error('no variant');
    const slice = (requests: number, managerUs: number): Parameters<typeof relayRow>[1][number] => ({
      load: { requests, errors: 0, elapsedMs: 1000 },
      cpu: { us: { front: 0, manager: managerUs, workers: managerUs / 2, runtime: 0 }, unattributedUs: 0 },
      clientUs: requests * 10,
    });
    const row = relayRow(variant, [slice(1000, 30_000), slice(3000, 150_000), slice(2000, 60_000)]);
    expect(row.rps).toBe(2000);
    expect(row.supervisorUs).toBe(40);
    expect(row.workersUs).toBe(20);
    expect(row.clientUs).toBe(10);
    expect(row.sliceSupervisorUs).toEqual([30, 50, 30]);
    expect(formatRelay([row], [])).toMatch(/^null worker, python pool +2000 +0 +40 +20 +10 30 50 30$/m);
  });
});
