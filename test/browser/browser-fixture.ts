// Shared by the browser tests: Debian's Chromium through playwright-core, the skip policy (a
// developer laptop without it skips with one line; CI=true must run), and the screenshot folder.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots land here (test-results/, ignored by git). */
export const SHOTS = new URL('../../test-results/', import.meta.url).pathname;

/** Skip reason on a machine without Chromium; in CI (CI=true) its absence is an error. */
export function requireChromium(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    const reason = `${CHROMIUM} not found: apt-get install chromium to run the browser tests`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: they must run in CI)`);
    return reason;
  }
}

/** Headless Chromium as these machines allow it (no sandbox as root, no background traffic). */
export function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
}
