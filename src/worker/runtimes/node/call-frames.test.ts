// This file implements the tests of a slow-log sample's frames from the perspective of the
// sampler thread turning a `Debugger.paused` event into what the supervisor gets: 1-based lines
// and columns, paths from the scripts' URLs, the worker's own outer frames cut, a bounded depth.
import { describe, expect, it } from 'vitest';
import { sampledFrames, urlPath, type CdpCallFrame } from './call-frames.ts';

const OWN = '/usr/lib/cgi-fpm/dist/';

function frame(functionName: string, scriptId: string, lineNumber: number, columnNumber = 0): CdpCallFrame {
  return { functionName, location: { scriptId, lineNumber, columnNumber }, url: '' };
}

const urls = new Map([
  ['1', 'file:///srv/www/spin.js'],
  ['2', `file://${OWN}worker/runtimes/node/script-run.js`],
  ['3', 'node:internal/process/task_queues'],
  ['4', 'node:fs'],
  ['5', 'file:///srv/www/caf%C3%A9%20x.js'],
]);

describe('sampledFrames', () => {
  it("keeps the script's frames innermost first, 1-based, and cuts the worker's outer frames", () => {
    const got = sampledFrames([
      frame('spinHard', '1', 2, 4), frame('', '1', 6), frame('invokeScript', '2', 35, 14), frame('processTicksAndRejections', '3', 94, 4),
    ], urls, OWN, 20);
    expect(got).toEqual({
      frames: [
        { function: 'spinHard', file: '/srv/www/spin.js', line: 3, column: 5 },
        { function: '', file: '/srv/www/spin.js', line: 7, column: 1 },
      ],
      omitted: 2,
    });
  });

  it("keeps Node's and the worker's frames inside the script's (a script busy in fs, or in an emulated stream)", () => {
    const got = sampledFrames([frame('readFileSync', '4', 452), frame('write', '2', 10), frame('main', '1', 3), frame('run', '2', 1)], urls, OWN, 20);
    expect(got.frames.map((f) => `${f.function} ${f.file}:${String(f.line)}`)).toEqual([
      'readFileSync node:fs:453', `write ${OWN}worker/runtimes/node/script-run.js:11`, 'main /srv/www/spin.js:4',
    ]);
    expect(got.omitted).toBe(1);
  });

  it("gives no frame when only the worker's own code ran, and keeps at most depth", () => {
    expect(sampledFrames([frame('tick', '2', 1), frame('x', '9', 1)], urls, OWN, 20)).toEqual({ frames: [], omitted: 2 });
    const deep = Array.from({ length: 50 }, (_, i) => frame(`f${String(i)}`, '1', i));
    const got = sampledFrames(deep, urls, OWN, 20);
    expect(got.frames).toHaveLength(20);
    expect(got.frames[0]?.function).toBe('f0');
  });

  it('prefers the frame URL when the protocol still sends one, and decodes file URLs', () => {
    expect(sampledFrames([{ functionName: 'a', location: { scriptId: '7', lineNumber: 0 }, url: '/srv/raw.js' }], urls, OWN, 20).frames)
      .toEqual([{ function: 'a', file: '/srv/raw.js', line: 1, column: 1 }]);
    expect(sampledFrames([frame('b', '5', 0)], urls, OWN, 20).frames[0]?.file).toBe('/srv/www/café x.js');
    expect(urlPath('node:fs')).toBe('node:fs');
    expect(urlPath('file://host/x')).toBe('file://host/x');
  });
});
