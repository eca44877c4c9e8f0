// This file implements daemon config files from the perspective of a test that describes a
// config as a plain object (or TOML text) and needs it on disk.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'smol-toml';

/** A TOML document as a plain object: tables are nested objects (`pm: { max_children: 2 }`). */
export type TomlDocument = Readonly<Record<string, unknown>>;

/**
 * Turns a config object into TOML text. Keys containing a dot (`"listen.mode"`) are quoted,
 * nested objects become tables, so `{ pm: { max_children: 2 } }` means `pm.max_children = 2`.
 */
export function toToml(config: string | TomlDocument): string {
  return typeof config === 'string' ? config : stringify(config);
}

/**
 * Writes `config` (object or TOML text) to `file` and returns the TOML text written.
 */
export async function writeConfigFile(file: string, config: string | TomlDocument): Promise<string> {
  const text = toToml(config);
  await writeFile(file, text);
  return text;
}
