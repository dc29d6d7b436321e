/** Something to release; returned by every event subscription. */
export interface Disposable {
  dispose(): void;
}

/** A tiny typed event: `on(listener)` subscribes and returns a disposable; `emit` calls listeners in order. */
export class Emitter<T> {
  private listeners: Array<(value: T) => void> = [];

  readonly on = (listener: (value: T) => void): Disposable => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };

  emit(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  get size(): number {
    return this.listeners.length;
  }
}
