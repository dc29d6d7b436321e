// The hang guard of `npm test`: runs the test runner, forwarding its output, and stops it (its
// whole process group) when it has hung. Time is counted in machine-normalised minutes: every
// 10 s (less for tiny limits) of wall time counts 10 s / max(1, load average / CPUs), sampled as it runs, so a machine
// busy with other work gives the tests proportionally longer, and only a hang (no progress for
// much longer than any test file needs) trips it. Two limits, both in normalised minutes:
// - idle: no output for COORD_TEST_IDLE_MIN (default 10). node's runner reports files in order,
//   so the longest quiet stretch of a healthy run is about one slow file;
// - total: COORD_TEST_TIMEOUT_MIN (default 15).
// Either stops at COORD_TEST_MAX_MIN of wall time at most (default 85: CI allows 90).
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';


const minutes = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`✖ ${name} must be a positive number of minutes, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
};

/** How much slower than an idle machine this one runs now: load average per CPU, at least 1. */
export function slowdown() {
  return Math.max(1, loadavg()[0] / availableParallelism());
}

/** Runs `cmd args` under the guard; resolves with its exit status, or exits the process when it hangs. */
export function runGuarded(label, cmd, args, options) {
  const idleMin = minutes('COORD_TEST_IDLE_MIN', 10);
  const totalMin = minutes('COORD_TEST_TIMEOUT_MIN', 15);
  const maxMin = minutes('COORD_TEST_MAX_MIN', 85);
  const startScale = slowdown();
  console.log(`  (hang guard: ${idleMin} min without output or ${totalMin} min in all, in minutes of an idle machine; this one is ${startScale.toFixed(1)}× slower now (load ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs); at most ${maxMin} min)`);
  // Its own process group, so a hang stops the runner and every test file process it started.
  const child = spawn(cmd, args, { ...options, stdio: ['inherit', 'pipe', 'inherit'], detached: true });
  const started = Date.now();
  let lastSample = started;
  let total = 0; // normalised ms
  let idle = 0; // normalised ms since the last output
  let tail = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    idle = 0;
    tail = (tail + chunk.toString()).slice(-2000);
  });
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone: nothing left to signal
    }
  };
  // The group does not get the terminal's Ctrl-C: pass it on.
  const forward = (signal) => signalGroup(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const stop = (why) => {
    console.error(`\n✖ ${label}: ${why}. Stopping it: look for the file above that reported its tests but never ended. Last output:\n${tail.split('\n').slice(-8).join('\n')}`);
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), 10_000).unref();
    // A process that left the group may still hold the output pipe open: do not wait for it.
    setTimeout(() => process.exit(1), 20_000).unref();
    process.exitCode = 1;
  };
  let stopped = false;
  const sampleMs = Math.min(10_000, (Math.min(idleMin, totalMin) * 60_000) / 10);
  const timer = setInterval(() => {
    const now = Date.now();
    const step = (now - lastSample) / slowdown();
    lastSample = now;
    total += step;
    idle += step;
    if (stopped) return;
    const wall = (now - started) / 60_000;
    let why;
    if (idle >= idleMin * 60_000) why = `no output for ${idleMin} min of an idle machine (COORD_TEST_IDLE_MIN)`;
    else if (total >= totalMin * 60_000) why = `not finished within ${totalMin} min of an idle machine (COORD_TEST_TIMEOUT_MIN)`;
    else if (wall >= maxMin) why = `not finished within ${maxMin} min (COORD_TEST_MAX_MIN)`;
    if (!why) return;
    stopped = true;
    stop(`${why}; ${wall.toFixed(1)} min of wall time, load now ${loadavg()[0].toFixed(1)}`);
  }, sampleMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearInterval(timer);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(stopped ? { status: 1, hung: true } : { status: code, signal, hung: false });
    });
  });
}
