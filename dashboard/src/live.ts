import { useEffect, useRef, useState } from 'preact/hooks';
import type { Area, FeedEvent, WatchState } from '../../src/admin/api-types.ts';
import { headers } from './api.ts';

export interface LiveState {
  /** The event stream from the admin server is open. */
  stream: boolean;
  /** The last attempt to open it failed (false while the first attempt is under way). */
  failing: boolean;
  /** The admin server's own watch on etcd (null until the stream said). */
  watch: WatchState | null;
}

type Listener = (e: FeedEvent) => void;

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send the Authorization header)
 * and calls `onEvent` per event until the stream ends or `signal` aborts.
 */
export async function readSse(path: string, onEvent: (event: string, data: unknown) => void, signal: AbortSignal): Promise<number> {
  const res = await fetch(path, { headers: headers({ accept: 'text/event-stream' }), signal });
  if (!res.ok || !res.body) return res.status;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return res.status;
    buf += value;
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}

/** The one live feed of the app: reconnects with backoff and resumes after the last event seen. */
class LiveHub {
  state: LiveState = { stream: false, failing: false, watch: null };
  events: FeedEvent[] = [];
  private lastSeq: number | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<() => void>();
  private controller: AbortController | undefined;

  start(): void {
    if (this.controller) return;
    this.controller = new AbortController();
    void this.loop(this.controller.signal);
  }

  stop(): void {
    this.controller?.abort();
    this.controller = undefined;
    this.set({ stream: false, failing: false });
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let delay = 500;
    while (!signal.aborted) {
      try {
        const after = this.lastSeq === undefined ? '' : `?after=${this.lastSeq}`;
        await readSse(`/api/events${after}`, (event, data) => this.onEvent(event, data), signal);
      } catch {
        // stream broke: reconnect below
      }
      this.set({ stream: false, failing: true });
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  private onEvent(event: string, data: unknown): void {
    if (event === 'hello') {
      this.set({ stream: true, failing: false, watch: (data as { watch: WatchState }).watch });
      // Everything may have changed while the stream was down.
      for (const l of this.stateListeners) l();
    } else if (event === 'watch') {
      this.set({ watch: data as WatchState });
    } else if (event === 'feed') {
      const e = data as FeedEvent;
      this.lastSeq = e.seq;
      this.events = [e, ...this.events].slice(0, 200);
      for (const l of this.listeners) l(e);
    }
  }

  private set(patch: Partial<LiveState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.stateListeners) l();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  onState(l: () => void): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }
}

export const live = new LiveHub();

export function useLiveState(): LiveState {
  const [s, setS] = useState(live.state);
  useEffect(() => live.onState(() => setS(live.state)), []);
  return s;
}

/**
 * Calls `reload` (debounced) whenever an event of one of `areas` arrives, when `match` accepts it,
 * and after the stream reconnects.
 */
export function useLiveReload(areas: Area[], reload: () => void, match?: (e: FeedEvent) => boolean): void {
  const ref = useRef({ reload, match });
  ref.current = { reload, match };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ref.current.reload(), 250);
    };
    let connected = live.state.stream;
    const offState = live.onState(() => {
      if (live.state.stream && !connected) soon();
      connected = live.state.stream;
    });
    const offEvents = live.subscribe((e) => {
      if (areas.includes(e.area) && (!ref.current.match || ref.current.match(e))) soon();
    });
    return () => {
      clearTimeout(timer);
      offState();
      offEvents();
    };
  }, [areas.join(',')]);
}
