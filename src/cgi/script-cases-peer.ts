// This file implements the shared script resolution cases (script-cases.json) from the
// perspective of a TypeScript test: their bytes decoded, their directory tree built. The python
// worker's router runs the same file (runtimes/python/route_test.py).
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';

import type { ScriptRules } from './script.ts';

/** An entry of `tree`, `cacheTree` or an `op` step: `[verb, ...paths/mode/text]`. */
export type FsOp = readonly string[];

/** Expected (parts of) a resolution; paths as fixture strings. */
export interface Expected {
  readonly ok?: boolean;
  readonly status?: number;
  readonly event?: string;
  readonly reason?: string;
  readonly reasonPrefix?: string;
  readonly scriptFilename?: string;
  readonly pathInfo?: string;
}

export interface ResolveCase {
  readonly name: string;
  readonly scriptFilename: string;
  readonly pathInfo: string;
  readonly rules: Partial<ScriptRules>;
  readonly expected: Expected;
}

export type CacheStep =
  | { readonly op: FsOp }
  | { readonly resolve: readonly [string, string]; readonly expect: Expected }
  | { readonly cached: readonly [string, string]; readonly hit: boolean }
  | { readonly clock: number }
  | { readonly maxEntries: number };

export interface ScriptCases {
  readonly tree: readonly FsOp[];
  readonly cases: readonly ResolveCase[];
  readonly cacheTree: readonly FsOp[];
  readonly cacheScenarios: readonly { readonly name: string; readonly steps: readonly CacheStep[] }[];
}

export const scriptCases = JSON.parse(
  readFileSync(new URL('script-cases.json', import.meta.url), 'utf8'),
) as ScriptCases;

/**
 * `{long}` in a fixture string: one path segment of 5000 bytes (a path past what a resolution
 * keeps, 4096 bytes); route_test.py defines the same.
 */
export const LONG_SEGMENT = 'p'.repeat(5000);

/**
 * A fixture string as bytes: placeholders (`{tmp}`, `{root}`, `{dir}`, `{long}`) replaced,
 * UTF-8, `%XX` a byte (as python's `urllib.parse.unquote_to_bytes`).
 */
export function bytesOf(text: string, places: Readonly<Record<string, string>>): Buffer {
  const filled = text.replace(/\{(\w+)\}/g, (whole, name: string) => (name === 'long' ? LONG_SEGMENT : places[name] ?? whole));
  const parts = filled.split(/%([0-9A-Fa-f]{2})/);
  return Buffer.concat(parts.map((part, i) => (i % 2 === 1 ? Buffer.from([Number.parseInt(part, 16)]) : Buffer.from(part))));
}

/** The text of a fixture string (a reason), placeholders replaced. */
export function textOf(text: string, places: Readonly<Record<string, string>>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => places[name] ?? whole);
}

/** Applies one tree entry or op under `base` (paths relative to it, `%XX` bytes). */
export function applyOp(base: string, op: FsOp): void {
  const at = (i: number): Buffer => bytesOf(`${base}/${op[i] ?? ''}`, {});
  const mode = (i: number): number => Number.parseInt(op[i] ?? '0644', 8);
  switch (op[0] ?? '') {
    case 'mkdir': mkdirSync(at(1)); break;
    case 'write': writeFileSync(at(1), op[3] ?? '#!/bin/sh\n', { mode: mode(2) }); chmodSync(at(1), mode(2)); break;
    case 'symlink': symlinkSync(bytesOf(op[1] ?? '', {}), at(2)); break;
    case 'link': linkSync(at(1), at(2)); break;
    case 'rename': renameSync(at(1), at(2)); break;
    case 'unlink': unlinkSync(at(1)); break;
    case 'chmod': chmodSync(at(1), mode(2)); break;
    default: throw new TypeError(`script-cases.json: unknown op ${JSON.stringify(op)}`);
  }
}

/** Builds `ops` under `base`. */
export function build(base: string, ops: readonly FsOp[]): void {
  for (const op of ops) applyOp(base, op);
}

/** The fields of `expected`, in a resolution's shape (bytes for paths), to compare with. */
export function expectedOf(expected: Expected, places: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(expected)) {
    if (key === 'reasonPrefix') continue;
    if (key === 'scriptFilename' || key === 'pathInfo') out[key] = bytesOf(value as string, places);
    else out[key] = typeof value === 'string' ? textOf(value, places) : value;
  }
  return out;
}

