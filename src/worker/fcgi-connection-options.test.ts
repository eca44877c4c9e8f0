// This file implements the tests of fcgi-connection-options.ts from the perspective of a worker
// that passes one options object for every connection it accepts (direct.ts, standalone.ts).
import { describe, expect, it } from 'vitest';
import { RecordType } from '../fastcgi/constants.ts';
import { encodeNameValuePairs, NameValueDecoder } from '../fastcgi/name-value.ts';
import { resolveConnectionOptions } from './fcgi-connection-options.ts';
import { harnessSuite, record } from './fcgi-connection-test-peer.ts';

const setup = harnessSuite();

describe('resolveConnectionOptions', () => {
  it('resolves one options object once: the same object gives the same resolution, another its own', () => {
    const options = { values: { FCGI_MAX_CONNS: '4' }, maxParamsBytes: 4096 };
    const first = resolveConnectionOptions(options);
    expect(resolveConnectionOptions(options)).toBe(first);
    const other = resolveConnectionOptions({ values: { FCGI_MAX_CONNS: '4' }, maxParamsBytes: 4096 });
    expect(other).not.toBe(first);
    expect(other).toEqual(first);
    expect(first).toEqual({
      maxParamsBytes: 4096,
      stdinHighWaterMarkBytes: 65536,
      values: { FCGI_MAX_CONNS: '4', FCGI_MAX_REQS: '1', FCGI_MPXS_CONNS: '0' },
      holdOutputTempPath: undefined,
    });
  });

  it('checks a bad object again on every use: it never resolves', () => {
    const bad = { maxParamsBytes: 0 };
    expect(() => resolveConnectionOptions(bad)).toThrow(TypeError);
    expect(() => resolveConnectionOptions(bad)).toThrow(TypeError);
  });

  it('answers GET_VALUES on each of two connections opened with one options object', async () => {
    const options = { values: { FCGI_MAX_CONNS: '9', FCGI_MAX_REQS: '3' } };
    const ask = encodeNameValuePairs(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS'].map((n) => [n, '']));
    for (const h of [await setup(options), await setup(options)]) {
      h.peer.send(record(RecordType.FCGI_GET_VALUES, 0, ask));
      await h.peer.until(() => h.peer.records.length === 1);
      const decoder = new NameValueDecoder();
      decoder.push(h.peer.of(RecordType.FCGI_GET_VALUES_RESULT, 0)[0]!.content);
      expect([...decoder.end()]).toEqual([
        ['FCGI_MAX_CONNS', '9'],
        ['FCGI_MAX_REQS', '3'],
        ['FCGI_MPXS_CONNS', '0'],
      ]);
    }
  });
});
