/**
 * One log line per outage, not one per retry: the first failure is logged as it comes, repeats of
 * the same message are counted and summarised at most every `summaryMs` (`… still failing: 12
 * attempts in 30 s`), and the recovery says how long it lasted. A different message is logged at once.
 */
export class RepeatLog {
  private message: string | undefined;
  private since = 0;
  private failures = 0;
  private lastLine = 0;

  /**
   * @param log where lines go
   * @param summaryMs how often repeats are summarised at most. Default 30 s.
   */
  constructor(
    private readonly log: (line: string) => void,
    private readonly summaryMs = 30_000,
  ) {}

  /** A failed attempt; `message` is the whole sentence (what, where, why, when the next try is). */
  failure(message: string, key = message): void {
    const now = Date.now();
    this.failures++;
    if (this.message === undefined) this.since = now;
    if (key !== this.message) {
      this.message = key;
      this.lastLine = now;
      this.log(message);
      return;
    }
    if (now - this.lastLine >= this.summaryMs) {
      this.lastLine = now;
      this.log(`${message} (still failing: ${this.failures} attempts in ${seconds(now - this.since)})`);
    }
  }

  /** The operation worked again: says so once, if it had failed. */
  recovered(what: string): void {
    if (this.message === undefined) return;
    this.log(`${what} after ${this.failures} failed attempt${this.failures === 1 ? '' : 's'} over ${seconds(Date.now() - this.since)}`);
    this.message = undefined;
    this.failures = 0;
  }

  get failing(): boolean {
    return this.message !== undefined;
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
