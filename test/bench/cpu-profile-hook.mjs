// Preloaded into a process by `npm run bench -- --profile DIR` (NODE_OPTIONS=--import this file):
// the first SIGUSR2 starts the V8 CPU profiler, the next one writes DIR/<name>-<pid>-<n>.cpuprofile
// (n = 1, 2, ... per start/stop pair; open it in Chrome DevTools or speedscope). Plain JavaScript:
// it loads before anything else.
import { Session } from 'node:inspector';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
const name = process.env.BENCH_PROFILE_NAME ?? 'process';
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  let written = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
      );
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      const file = join(dir, `${name}-${process.pid}-${++written}.cpuprofile`);
      writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file); // whoever waits for the file never reads half of it
    });
  });
}
