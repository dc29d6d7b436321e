// Output of a child process arrives in chunks that may end mid-line. A test that matches against
// it waits for whole lines: these helpers give the complete lines printed so far.

/** `text` up to and including its last newline: what can be matched without seeing half a line. */
export function completeLines(text: string): string {
  return text.slice(0, text.lastIndexOf('\n') + 1);
}

/** Collects a stream's text as whole lines: `push` takes each chunk, `lines` holds every complete line. */
export class LineCollector {
  readonly lines: string[] = [];
  #partial = '';

  push(chunk: string): void {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop()!;
    this.lines.push(...parts);
  }
}
