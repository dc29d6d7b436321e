import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { AdminInfo, ObservedTime } from '../../src/admin/api-types.ts';
import { ApiFailure } from './api.ts';
import { since, sinceTitle } from './format.ts';

export const InfoContext = createContext<AdminInfo | null>(null);

/** Server settings; `readOnly` hides every action. */
export function useInfo(): AdminInfo {
  return useContext(InfoContext)!;
}

export interface Resource<T> {
  data: T | undefined;
  error: ApiFailure | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads `loader()` now and on every reload; keeps the last data while reloading. */
export function useResource<T>(loader: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiFailure; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loader(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, loading: false }),
      (e: unknown) => {
        if (ac.signal.aborted) return;
        const err = e instanceof ApiFailure ? e : new ApiFailure(0, 'client', (e as Error).message);
        setState((s) => ({ data: s.data, error: err, loading: false }));
      },
    );
    return () => ac.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Calls `fn` every `ms` while `enabled` and the tab is visible (a hidden tab polls nothing). */
export function usePolling(fn: () => void, ms: number, enabled = true): void {
  useEffect(() => {
    if (!enabled) return;
    const t = setInterval(() => document.hidden || fn(), ms);
    return () => clearInterval(t);
  }, [fn, ms, enabled]);
}

/** The current time, updated every second (for "held for" durations). */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

export function Since({ t }: { t: ObservedTime }) {
  const now = useNow();
  return (
    <span class={t.exact ? 'since' : 'since inexact'} title={sinceTitle(t)}>
      {since(t, now)}
    </span>
  );
}

export function Badge(props: { kind?: string; children: ComponentChildren; testid?: string; title?: string }) {
  return (
    <span class={`badge ${props.kind ?? ''}`} data-testid={props.testid} title={props.title}>
      {props.children}
    </span>
  );
}

export function ErrorBox({ error, children }: { error: ApiFailure | string | undefined; children?: ComponentChildren }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  const status = typeof error === 'string' || !error.status ? '' : `HTTP ${error.status}`;
  return (
    <div class="error" role="alert" data-testid="error">
      {status && <strong>{status}: </strong>}
      {message}
      {children}
    </div>
  );
}

export function Card(props: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; testid?: string; class?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} data-testid={props.testid}>
      {(props.title || props.actions) && (
        <header>
          <h2>{props.title}</h2>
          <div class="actions">{props.actions}</div>
        </header>
      )}
      {props.children}
    </section>
  );
}

export function Stat(props: { label: string; value: ComponentChildren; hint?: string; testid?: string }) {
  return (
    <div class="stat" data-testid={props.testid} title={props.hint}>
      <div class="value">{props.value}</div>
      <div class="label">{props.label}</div>
    </div>
  );
}

/**
 * A button that runs an async action, shows that it is busy, and reports a failure beside it.
 * Hidden in read-only mode unless `readOnlyOk`.
 */
export function ActionButton(props: {
  onClick: () => Promise<unknown>;
  children: ComponentChildren;
  kind?: 'primary' | 'danger' | 'plain';
  disabled?: boolean;
  confirm?: string;
  testid?: string;
  title?: string;
}) {
  const info = useInfo();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  if (info.readOnly) return null;
  return (
    <span class="action">
      <button
        class={props.kind ?? 'plain'}
        disabled={busy || props.disabled}
        data-testid={props.testid}
        title={props.title}
        onClick={async () => {
          if (props.confirm && !window.confirm(props.confirm)) return;
          setBusy(true);
          setError(undefined);
          try {
            await props.onClick();
          } catch (e) {
            if (mounted.current) setError((e as Error).message);
          } finally {
            if (mounted.current) setBusy(false);
          }
        }}
      >
        {busy ? '…' : props.children}
      </button>
      {error && (
        <span class="inline-error" role="alert" data-testid="action-error">
          {error}
        </span>
      )}
    </span>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Health, RPS, error rate and p99: "n/a" until a metrics source is connected. */
export function MetricCell({ value, unit }: { value: number | null | undefined; unit?: string }) {
  if (value === null || value === undefined) {
    return (
      <span class="na" title="no metrics source connected yet (Prometheus metrics come with the observability work)">
        n/a
      </span>
    );
  }
  return (
    <span>
      {Number.isInteger(value) ? value : value.toFixed(2)}
      {unit}
    </span>
  );
}
