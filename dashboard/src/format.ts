import type { ObservedTime } from '../../src/admin/api-types.ts';

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "12s", or "≥ 3m 2s" when the dashboard only knows it was already so when it started. */
export function since(t: ObservedTime, now: number): string {
  const d = duration(now - Date.parse(t.at));
  return t.exact ? d : `≥ ${d}`;
}

export function sinceTitle(t: ObservedTime): string {
  return t.exact
    ? `observed by the dashboard at ${new Date(t.at).toLocaleString()}`
    : `already so when the dashboard started watching at ${new Date(t.at).toLocaleString()} (etcd records no creation time)`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}
