/** Something to release; returned by every event subscription. */
export interface Disposable {
  dispose(): void;
}

/** A tiny typed event: `on(listener)` subscribes and returns a disposable; `emit` calls listeners in order. */
export class Emitter<T> {
  /** Created by the first listener: many emitters never get one. */
  private listeners: Array<(value: T) => void> | undefined;

  readonly on = (listener: (value: T) => void): Disposable => {
    (this.listeners ??= []).push(listener);
    return { dispose: () => (this.listeners = this.listeners?.filter((l) => l !== listener)) };
  };

  emit(value: T): void {
    if (this.listeners) callEach(this.listeners, (l) => l(value));
  }

  get size(): number {
    return this.listeners?.length ?? 0;
  }
}

/**
 * Calls `call` on a copy of `items` (one may unsubscribe another meanwhile); one that throws does
 * not stop the rest: its error is rethrown on a microtask, as an uncaught exception.
 */
export function callEach<T>(items: Iterable<T>, call: (item: T) => void): void {
  for (const item of [...items]) {
    try {
      call(item);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}
