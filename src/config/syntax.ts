// This file implements TOML parsing from the perspective of an operator who wrote PHP-FPM-style
// dotted keys: a syntax error names the file, line and column, and when TOML refused a bare
// dotted key next to a plain one (`listen = "…"` then `listen.mode = "0660"`), it says to
// quote the dotted key.

import { parse, TomlError } from 'smol-toml';
import { ConfigError, ErrorCode } from '../errors.ts';

/** A bare key, optionally dotted, at the start of a key/value line; then the value. */
const KEY_LINE_RE = /^\s*([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=\s*(.*)$/;

interface KeyLine {
  readonly key: string;
  readonly value: string;
}

function keyLine(line: string | undefined): KeyLine | undefined {
  const match = line === undefined ? null : KEY_LINE_RE.exec(line);
  if (match === null) return undefined;
  return { key: (match[1] ?? '').replace(/\s+/g, ''), value: (match[2] ?? '').trim() };
}

/**
 * The hint for TOML's "redefine" error at `line` (1-based) when a bare dotted key collides
 * with a plain key of the same table: either the dotted key is on that line, or the plain key
 * is and a bare dotted key under its name came before it.
 *
 * @returns e.g. `quote the dotted key: "listen.mode" = "0660"`, or `undefined`.
 */
export function dottedKeyHint(text: string, line: number): string | undefined {
  const lines = text.split(/\r?\n/).map(keyLine);
  const here = lines[line - 1];
  if (here === undefined) return undefined;
  // When the error is on the plain key, the bare dotted key came before it: take the nearest.
  const before = lines.slice(0, line - 1).reverse();
  const dotted = here.key.includes('.')
    ? here
    : before.find((l) => l?.key.startsWith(`${here.key}.`) === true);
  if (dotted === undefined) return undefined;
  return `quote the dotted key: "${dotted.key}" = ${dotted.value} (bare, TOML reads it as a table)`;
}

function syntaxProblem(error: TomlError, text: string, file: string): ConfigError {
  const reason = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
  const hint = reason.includes('redefine') ? dottedKeyHint(text, error.line) : undefined;
  const message = `config: ${file}:${error.line}:${error.column}: invalid TOML: ${reason}`;
  return new ConfigError(
    ErrorCode.ERR_CONFIG_SYNTAX,
    hint === undefined ? message : `${message}; ${hint}`,
    { file },
    { cause: error },
  );
}

/**
 * Parses TOML text.
 *
 * @param text - the file's contents.
 * @param file - absolute path of the file, for messages.
 * @returns the top-level table.
 * @throws ConfigError `ERR_CONFIG_SYNTAX` reading `config: FILE:LINE:COLUMN: invalid TOML: …` (and, for a bare
 *   dotted key next to a plain key, how to quote it); the smol-toml error is its `cause`.
 */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof TomlError) throw syntaxProblem(error, text, file);
    throw error;
  }
}
