// Deadlines for waiting on other processes, stretched by how busy the machine is: a deadline
// exists to catch a hang, and on a machine whose load is ten times its CPUs a healthy child
// process takes about ten times as long. Not for assertions about speed (those are benchmarks).
import { availableParallelism, loadavg } from 'node:os';

/** At most this many times the given deadline. */
const MAX_STRETCH = 10;

/** `ms` stretched by the load average per CPU now (1 on an idle machine, at most 10). */
export function patience(ms: number): number {
  const stretch = Math.min(MAX_STRETCH, Math.max(1, loadavg()[0] / availableParallelism()));
  return Math.round(ms * stretch);
}
