// What a running `coord dev` tells the `coord demo …` commands: written to <dir>/dev.json
// (default ./.coord/dev.json) once everything is up, removed on a clean stop.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevState {
  pid: number;
  /** The store's endpoint (`host:port`). */
  endpoints: string;
  namespace: string;
  dashboardUrl: string;
  /** Absent when the gateway is not running. */
  gatewayUrl?: string;
  /** A demo JWT the gateway accepts for order creation. */
  token?: string;
  instances: Array<{ service: string; id: string; pid: number; endpoint: string }>;
}

/** Default directory of `coord dev` (data, logs, state): env COORD_DEV_DIR, else ./.coord. */
export const DEFAULT_DEV_DIR = process.env.COORD_DEV_DIR ?? '.coord';

const file = (dir: string) => join(dir, 'dev.json');

export function writeDevState(dir: string, state: DevState): void {
  writeFileSync(file(dir), `${JSON.stringify(state, null, 2)}\n`);
}

export function removeDevState(dir: string): void {
  rmSync(file(dir), { force: true });
}

/** The state of the `coord dev` running from `dir`, or undefined when none is (or it died). */
export function readDevState(dir: string): DevState | undefined {
  let state: DevState;
  try {
    state = JSON.parse(readFileSync(file(dir), 'utf8'));
  } catch {
    return undefined;
  }
  try {
    process.kill(state.pid, 0);
  } catch {
    return undefined;
  }
  return state;
}
