// This file implements the profile run's report from the perspective of whoever writes
// docs/PERFORMANCE.md and later redesigns the hot paths: per target, markdown tables of CPU per
// request per process, where each Node process's main thread spends it (by source file and by
// function, scaled from the profile's shares to µs per request), syscalls per request, and
// perf's split by shared object and top symbols.
import type { ProfileEntry } from './cpuprofile.ts';
import type { PerfLine } from './perf.ts';
import { ROLES, type CpuLook, type PerfLook, type ProfileLook, type StraceLook } from './profile-phases.ts';

/** Everything measured for one target; a look that failed holds its error. */
export interface TargetProfile {
  readonly id: string;
  readonly cpu: CpuLook | Error;
  readonly profile: ProfileLook | Error;
  readonly strace: StraceLook | Error | undefined;
  readonly perf: PerfLook | Error | undefined;
}

const fixed = (n: number, digits = 0): string => n.toFixed(digits);

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function cpuSection(cpu: CpuLook): string[] {
  const rows = ROLES.filter((r) => cpu.roles[r].processes > 0).map((role) => {
    const c = cpu.roles[role];
    return [
      role,
      String(c.processes),
      fixed(c.ownUs),
      fixed(c.mainThreadUs),
      fixed(c.ownUs - c.mainThreadUs),
    ];
  });
  const total = ROLES.reduce((n, r) => n + cpu.roles[r].ownUs, 0);
  return [
    `CPU per request from /proc: ${cpu.wrk.requests} requests at ${fixed(cpu.wrk.rps)} req/s, ${fixed(total)} µs in all.`,
    '',
    ...table(['process', 'count', 'µs/req (all threads)', 'main thread', 'other threads'], rows),
  ];
}

function entries(list: readonly ProfileEntry[], busyUs: number, scaleUs: number, fn: boolean): string[][] {
  return list.slice(0, fn ? 20 : 15).map((e) => {
    const share = busyUs > 0 ? e.us / busyUs : 0;
    return [
      fn ? `\`${e.where}\` ${e.fn}` : `\`${e.where}\``,
      `${fixed(share * 100, 1)} %`,
      fixed(share * scaleUs, 1),
    ];
  });
}

function profileSection(look: ProfileLook, cpu: CpuLook | Error): string[] {
  const out: string[] = [];
  for (const role of ROLES) {
    const summary = look.roles[role];
    if (summary === undefined) continue;
    const scale = cpu instanceof Error ? 0 : cpu.roles[role].mainThreadUs;
    out.push(
      '',
      `**${role}** (node --cpu-prof, ${fixed(summary.busyUs / 1000)} ms busy in the load, ${fixed((summary.busyUs / Math.max(1, summary.busyUs + summary.idleUs)) * 100)} % of its main thread's time; µs/req = share × main-thread CPU ${fixed(scale)} µs/req)`,
      '',
      ...table(['self time in', 'share', 'µs/req'], entries(summary.byFile, summary.busyUs, scale, false)),
      '',
      ...table(['function', 'share', 'µs/req'], entries(summary.byFunction, summary.busyUs, scale, true)),
    );
  }
  return out;
}

function straceSection(look: StraceLook): string[] {
  const out = [
    `strace -c -f during ${look.wrk.requests} requests (tracing slows the run; counts per request hold).`,
  ];
  for (const role of ROLES) {
    const rows = look.roles[role];
    if (rows === undefined || rows.length === 0) continue;
    const per = (n: number): string => fixed(n / Math.max(1, look.wrk.requests), 2);
    const total = rows.reduce((n, r) => n + r.calls, 0);
    out.push(
      '',
      `**${role}**: ${per(total)} syscalls per request`,
      '',
      ...table(
        ['syscall', 'calls/req', 'errors/req'],
        rows.slice(0, 12).map((r) => [r.syscall, per(r.calls), per(r.errors)]),
      ),
    );
  }
  return out;
}

function perfRows(lines: readonly PerfLine[], scaleUs: number): string[][] {
  return lines
    .slice(0, 15)
    .map((l) => [
      l.keys.map((k) => `\`${k}\``).join(' '),
      `${fixed(l.percent, 1)} %`,
      fixed((l.percent / 100) * scaleUs, 1),
    ]);
}

function perfSection(look: PerfLook, cpu: CpuLook | Error): string[] {
  const out = ['perf record -e cpu-clock (software event; µs/req = share × the process CPU from /proc).'];
  for (const role of ROLES) {
    const dso = look.dso[role];
    if (dso === undefined) continue;
    const scale = cpu instanceof Error ? 0 : cpu.roles[role].ownUs;
    out.push('', `**${role}**`, '', ...table(['shared object', 'share', 'µs/req'], perfRows(dso, scale)));
    out.push('', ...table(['symbol', 'share', 'µs/req'], perfRows(look.symbols[role] ?? [], scale)));
  }
  return out;
}

function failed(what: string, err: Error): string[] {
  return [`${what}: FAILED: ${err.message.split('\n')[0] ?? ''}`];
}

/** One target's report in markdown. */
export function formatProfile(p: TargetProfile): string {
  const look = <T>(what: string, value: T | Error | undefined, show: (v: T) => string[]): string[] => {
    if (value === undefined) return [`${what}: not available on this machine`];
    return value instanceof Error ? failed(what, value) : show(value);
  };
  return [
    `## ${p.id}`,
    '',
    ...look('CPU', p.cpu, cpuSection),
    '',
    '### Where the time goes (node --cpu-prof)',
    ...look('cpu-prof', p.profile, (v) => profileSection(v, p.cpu)),
    '',
    '### System calls (strace -c)',
    '',
    ...look('strace', p.strace, straceSection),
    '',
    '### Native split (perf)',
    '',
    ...look('perf', p.perf, (v) => perfSection(v, p.cpu)),
  ].join('\n');
}
