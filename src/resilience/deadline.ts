// Deadline arithmetic for propagation: what an outgoing call may spend of the incoming call's time.
// Deadlines are absolute ms on the Date.now() clock (what grpc-js uses), Infinity for none.

export type Budget =
  /** Send with this deadline (unchanged when the incoming one does not bind). */
  | { ok: true; deadline: number }
  /** Nothing is left once the margin is kept back: fail without sending. */
  | { ok: false; remainingMs: number };

/**
 * The deadline for an outgoing call: the earlier of its own and the incoming call's deadline
 * minus `marginMs`. The margin is time kept back for the reply to travel and for the handler to
 * answer its own caller, so an exceeded downstream deadline comes back as a clear error before
 * the upstream one expires as a bare timeout.
 */
export function propagatedDeadline(own: number, incoming: number, marginMs: number, now: number): Budget {
  if (incoming === Infinity) return { ok: true, deadline: own };
  const bound = incoming - marginMs;
  if (bound <= now) return { ok: false, remainingMs: incoming - now };
  return { ok: true, deadline: Math.min(own, bound) };
}

/** A grpc-js `Deadline` (Date or ms number) or undefined, as absolute ms. */
export function deadlineMs(deadline: Date | number | undefined): number {
  if (deadline === undefined) return Infinity;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
