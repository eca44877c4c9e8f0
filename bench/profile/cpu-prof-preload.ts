// This file implements `--cpu-prof` for processes the bench cannot give flags to, from the
// perspective of a profile run: Node 20 refuses --cpu-prof in NODE_OPTIONS and cgi-fpm forks
// its workers with no node flags, so this module, loaded by `NODE_OPTIONS=--import=URL` into
// the supervisor and every worker, starts V8's sampling profiler through the public
// `node:inspector` API and writes `CPU.<pid>.cpuprofile` into $CGI_FPM_BENCH_PROF_DIR when
// the process exits (normally or by process.exit; not when killed).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.CGI_FPM_BENCH_PROF_DIR;
const intervalUs = Number(process.env.CGI_FPM_BENCH_PROF_INTERVAL_US ?? '250');

if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  session.post('Profiler.start');
  process.once('exit', () => {
    // The in-thread session answers synchronously, so the file is written before the exit.
    session.post('Profiler.stop', (err, result) => {
      if (err === null)
        writeFileSync(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
