// This file implements the report's CPU and memory sections from the perspective of someone
// asking where a request's CPU goes and what each process model costs in memory: per row, the
// µs per request of each side, and the RSS/PSS/USS of its processes after load.
import type { MeasuredRow, Row } from './measure.ts';
import { memoryBySide, mib, cpuPerRequest } from './per-request.ts';
import { requestChildren, totalMemory, type MemoryTotal, type ProcessMemory } from './memory.ts';
import { SIDES } from './sides.ts';
import { frontOf } from './targets.ts';
import { line, us, type Column } from './table-format.ts';

const CPU_COLUMNS: readonly Column[] = [
  [22, 'left'],
  [12, 'right'],
  [8, 'right'],
  [8, 'right'],
  [8, 'right'],
  [8, 'right'],
  [8, 'right'],
];

const MEMORY_COLUMNS: readonly Column[] = [
  [22, 'left'],
  [5, 'right'],
  [7, 'right'],
  [7, 'right'],
  [7, 'right'],
  [0, 'left'],
];

function measured(rows: readonly Row[]): MeasuredRow[] {
  return rows.filter((r): r is MeasuredRow => r.ok);
}

/** The CPU section: one line per measured row. */
export function cpuLines(rows: readonly Row[], method: string): string[] {
  const out = [
    `CPU per request, µs (${method})`,
    line(['target', 'front', 'manager', 'workers', 'runtime', 'backend', 'total'], CPU_COLUMNS),
  ];
  for (const row of measured(rows)) {
    const cpu = cpuPerRequest(row.cpu);
    if (cpu === undefined) {
      out.push(line([row.target.label, 'not read'], CPU_COLUMNS));
      continue;
    }
    const front = `${frontOf(row.target)} ${us(cpu.sides.front)}`;
    const others = SIDES.filter((s) => s !== 'front').map((s) => us(cpu.sides[s]));
    const cells = [row.target.label, front, ...others, us(cpu.backend), us(cpu.total)];
    out.push(line(cells, CPU_COLUMNS));
  }
  out.push(
    '  manager: cgi-fpm supervisor, PHP-FPM master, fcgiwrap parent and the bench reaper · workers: cgi-fpm workers,',
    "  PHP-FPM children, fcgiwrap children, mod_wsgi daemon processes · runtime: python runner, exec'd scripts",
  );
  return out;
}

function perProcess(memory: readonly ProcessMemory[]): string {
  return SIDES.filter((s) => s !== 'front')
    .map((side) => {
      const of = memory.filter((p) => p.side === side);
      return of.length === 0 ? '' : `${side} ${of.map((p) => mib(p.rssKb)).join(' ')}`;
    })
    .filter((text) => text !== '')
    .join(' · ');
}

/** Issue 16: the memory of a fork row's request children (PSS per child, not only RSS). */
function requestChildLine(memory: readonly ProcessMemory[]): string {
  const children = requestChildren(memory);
  const total = totalMemory(children, () => true);
  const each = (pick: (t: MemoryTotal) => number): string =>
    children.length === 0 ? '-' : mib(pick(total) / children.length);
  return line(
    [
      '(request child)',
      String(children.length),
      each((t) => t.rssKb),
      each((t) => t.pssKb),
      each((t) => t.ussKb),
      'per child: PSS/USS count only what it does not share',
    ],
    MEMORY_COLUMNS,
  );
}

/** The memory section: each row's backend processes, then each front once. */
export function memoryLines(rows: readonly Row[]): string[] {
  const out = [
    'memory after load, MiB (backend processes: those behind the front)',
    line(['target', 'procs', 'RSS', 'PSS', 'USS', 'RSS per process'], MEMORY_COLUMNS),
  ];
  const fronts = new Map<string, readonly ProcessMemory[]>();
  for (const row of measured(rows)) {
    const { backend } = memoryBySide(row.memory);
    const cells = [
      row.target.label,
      String(backend.processes),
      mib(backend.rssKb),
      mib(backend.pssKb),
      mib(backend.ussKb),
    ];
    out.push(line([...cells, perProcess(row.memory)], MEMORY_COLUMNS));
    if (row.target.isolation === 'fork') out.push(requestChildLine(row.memory));
    const front = row.memory.filter((p) => p.side === 'front');
    if (front.length > 0 && !fronts.has(frontOf(row.target))) fronts.set(frontOf(row.target), front);
  }
  for (const [name, front] of fronts) {
    const { sides } = memoryBySide(front);
    const total = sides.front;
    const cells = [
      `(front: ${name})`,
      String(total.processes),
      mib(total.rssKb),
      mib(total.pssKb),
      mib(total.ussKb),
    ];
    out.push(line([...cells, front.map((p) => mib(p.rssKb)).join(' ')], MEMORY_COLUMNS));
  }
  return out;
}
