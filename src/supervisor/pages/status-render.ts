// This file implements the text formats of a pool's status page from the perspective of the
// clients PHP-FPM's page has: an operator's `curl` (plain text), php-fpm_exporter and scripts
// (`?json`), a browser (`?html`) and XML readers (`?xml`), each with `?full` adding one block per
// worker. The values come from status-fields.ts; OpenMetrics is openmetrics.ts's.
import { strftime } from '../../log/strftime.ts';
import { processFields, type FieldValue, type StatusField } from './status-fields.ts';
import type { WorkerStatus } from '../status.ts';

/** PHP-FPM's date format for `start time` in text, HTML and XML. */
const TIME_FORMAT = '%d/%b/%Y:%H:%M:%S %z';

/** What a format renders: the pool's fields and, for `full`, each worker's. */
export interface StatusContent {
  readonly pool: readonly StatusField[];
  readonly processes: readonly WorkerStatus[] | undefined;
  readonly nowMs: number;
}

function text(value: FieldValue, label: string): string {
  if (typeof value === 'object') return strftime(TIME_FORMAT, value.time * 1000);
  if (label === 'last request cpu' && typeof value === 'number') return value.toFixed(2);
  return String(value);
}

function json(value: FieldValue): string | number {
  return typeof value === 'object' ? value.time : value;
}

/** PHP-FPM's JSON key for a label (it writes `request uri` in lower case there). */
function jsonKey(label: string): string {
  return label === 'request URI' ? 'request uri' : label;
}

function plainBlock(fields: readonly StatusField[]): string {
  return fields.map(([label, value]) => `${`${label}:`.padEnd(22)}${text(value, label)}\n`).join('');
}

/** PHP-FPM's plain text: `label:` padded to 22 columns; `full` workers after a row of stars. */
export function renderPlain(content: StatusContent): string {
  let out = plainBlock(content.pool);
  for (const worker of content.processes ?? []) {
    out += `\n************************\n${plainBlock(processFields(worker, content.nowMs))}`;
  }
  return out;
}

function jsonObject(fields: readonly StatusField[]): Record<string, string | number> {
  const object: Record<string, string | number> = {};
  for (const [label, value] of fields) object[jsonKey(label)] = json(value);
  return object;
}

/** PHP-FPM's JSON: one object, `start time` in seconds since the epoch, `processes` for `full`. */
export function renderJson(content: StatusContent): string {
  const object: Record<string, unknown> = jsonObject(content.pool);
  if (content.processes !== undefined) {
    object.processes = content.processes.map((w) => jsonObject(processFields(w, content.nowMs)));
  }
  return JSON.stringify(object);
}

function escapeMarkup(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** PHP-FPM's HTML: a two-column table of the pool, then a table with one row per worker. */
export function renderHtml(content: StatusContent): string {
  const rows = content.pool.map(([label, value]) =>
    `<tr><th>${escapeMarkup(label)}</th><td>${escapeMarkup(text(value, label))}</td></tr>`).join('\n');
  let out = '<!DOCTYPE html>\n<html>\n<head><title>cgi-fpm status page</title></head>\n<body>\n'
    + `<table>\n${rows}\n</table>\n`;
  const processes = content.processes;
  if (processes !== undefined) {
    const views = processes.map((w) => processFields(w, content.nowMs));
    const head = (views[0] ?? processFields(emptyWorker, content.nowMs)).map(([label]) => `<th>${escapeMarkup(label)}</th>`).join('');
    const body = views.map((fields) =>
      `<tr>${fields.map(([label, value]) => `<td>${escapeMarkup(text(value, label))}</td>`).join('')}</tr>`).join('\n');
    out += `<table border="1">\n<tr>${head}</tr>\n${body}\n</table>\n`;
  }
  return `${out}</body>\n</html>\n`;
}

function xmlBlock(fields: readonly StatusField[]): string {
  return fields.map(([label, value]) => {
    const tag = label.toLowerCase().replaceAll(' ', '-');
    return `<${tag}>${escapeMarkup(typeof value === 'object' ? String(value.time) : String(value))}</${tag}>\n`;
  }).join('');
}

/** PHP-FPM's XML: `<status>`, a tag per field (spaces as dashes), `<processes>` for `full`. */
export function renderXml(content: StatusContent): string {
  let out = `<?xml version="1.0" ?>\n<status>\n${xmlBlock(content.pool)}`;
  if (content.processes !== undefined) {
    out += '<processes>\n';
    for (const worker of content.processes) out += `<process>\n${xmlBlock(processFields(worker, content.nowMs))}</process>\n`;
    out += '</processes>\n';
  }
  return `${out}</status>\n`;
}

/** A worker with no data, for the column names of an empty `full` table. */
const emptyWorker: WorkerStatus = {
  pid: 0, state: 'Idle', startedAtMs: 0, requests: 0, requestDurationUs: 0, requestMethod: '', requestUri: '',
  contentLength: 0, user: '-', script: '',
};
