// This file implements the tests of accounts.ts from the perspective of a loader reading the
// system's /etc/passwd and /etc/group, as they are found in the wild.

import { describe, expect, it } from 'vitest';
import { formatAccountRef, parseAccountRef, parseGroup, parsePasswd } from './accounts.ts';

describe('parseAccountRef', () => {
  it('reads digits (string or integer) as an id and anything else as a name', () => {
    expect(parseAccountRef('www-data')).toEqual({ kind: 'name', name: 'www-data' });
    expect(parseAccountRef('cgifpm-a')).toEqual({ kind: 'name', name: 'cgifpm-a' });
    expect(parseAccountRef('33')).toEqual({ kind: 'id', id: 33 });
    expect(parseAccountRef(0)).toEqual({ kind: 'id', id: 0 });
    expect(parseAccountRef(4294967294)).toEqual({ kind: 'id', id: 4294967294 });
  });

  it('refuses what names no account, naming the value', () => {
    for (const bad of ['', 'a:b', 'two words', -1, 1.5, 4294967295, '4294967295', true]) {
      expect(() => parseAccountRef(bad), String(bad)).toThrow(TypeError);
    }
    expect(() => parseAccountRef('a:b')).toThrow(
      'invalid account "a:b": expected a name such as "www-data" or a numeric id from 0 to 4294967294',
    );
  });

  it('formats back to what it parses', () => {
    for (const value of ['www-data', 33]) expect(formatAccountRef(parseAccountRef(value))).toBe(value);
  });
});

describe('parsePasswd / parseGroup', () => {
  it('reads names, ids and the home directory, skipping comments, blanks and damaged lines', () => {
    const passwd = [
      'root:x:0:0:root:/root:/bin/bash',
      '# a comment',
      '',
      'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
      '+nis::::::',
      'broken:x:abc:1:::',
      'short:x:1',
      'cgifpm-a:x:998:997::/nonexistent:/usr/sbin/nologin',
    ].join('\n');
    expect(parsePasswd(passwd)).toEqual([
      { name: 'root', uid: 0, gid: 0, home: '/root' },
      { name: 'www-data', uid: 33, gid: 33, home: '/var/www' },
      { name: 'cgifpm-a', uid: 998, gid: 997, home: '/nonexistent' },
    ]);
    const group = 'root:x:0:\nwww-data:x:33:alice,bob\nbad:x:-1:\nstaff:x:50:\n';
    expect(parseGroup(group)).toEqual([
      { name: 'root', gid: 0 },
      { name: 'www-data', gid: 33 },
      { name: 'staff', gid: 50 },
    ]);
  });
});
