import { Errors } from './errors.ts';
import type { RequestOp, TxnRequest, PutRequest, RangeRequest, DeleteRangeRequest } from '../protocol/etcd-types.ts';

/**
 * Request validation done before anything is applied, with etcd's rules and errors: empty keys,
 * ignore_value/ignore_lease misuse, operation counts, and the txn put/delete overlap rule.
 */

export function checkRange(r: RangeRequest): void {
  if (r.key.length === 0) throw Errors.emptyKey();
}

export function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw Errors.emptyKey();
  if (r.ignore_value && r.value.length !== 0) throw Errors.valueProvided();
  if (r.ignore_lease && r.lease !== '0' && r.lease !== 0) throw Errors.leaseProvided();
}

export function checkDelete(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw Errors.emptyKey();
}

export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw Errors.tooManyOps();
  for (const c of r.compare) if (c.key.length === 0) throw Errors.emptyKey();
  for (const op of r.success) checkOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkOp(op, maxTxnOps - opc);
}

function checkOp(op: RequestOp, maxTxnOps: number): void {
  switch (op.request) {
    case 'request_range':
      return checkRange(op.request_range!);
    case 'request_put':
      return checkPut(op.request_put!);
    case 'request_delete_range':
      return checkDelete(op.request_delete_range!);
    case 'request_txn':
      return checkTxn(op.request_txn!, maxTxnOps);
    default:
      throw Errors.keyNotFound();
  }
}

interface Interval {
  start: string;
  /** Exclusive end; undefined for a single key. */
  end: string | undefined;
}

const hits = (iv: Interval, k: string) => (iv.end === undefined ? k === iv.start : k >= iv.start && k < iv.end);

/**
 * Rejects a branch that writes one key twice: two puts, or a put inside a deleted range, at this
 * level or in nested txns. Puts in the two branches of one nested txn may coincide (only one runs).
 * Deletes may overlap each other. Returns the branch's puts and deletes for the enclosing level.
 */
export function checkIntervals(ops: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (op.request !== 'request_delete_range' || !op.request_delete_range) continue;
    const d = op.request_delete_range;
    dels.push({ start: d.key.toString('latin1'), end: d.range_end.length ? d.range_end.toString('latin1') : undefined });
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.request !== 'request_txn' || !op.request_txn) continue;
    const then = checkIntervals(op.request_txn.success);
    const otherwise = checkIntervals(op.request_txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || dels.some((d) => hits(d, k))) throw Errors.duplicateKey();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw Errors.duplicateKey();
      if (dels.some((d) => hits(d, k))) throw Errors.duplicateKey();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (op.request !== 'request_put' || !op.request_put) continue;
    const k = op.request_put.key.toString('latin1');
    if (puts.has(k) || dels.some((d) => hits(d, k))) throw Errors.duplicateKey();
    puts.add(k);
  }
  return { puts, dels };
}

/** Does a txn (with its nested txns, on whichever branch) contain any write? */
export function txnHasWrites(r: TxnRequest): boolean {
  const any = (ops: RequestOp[]): boolean =>
    ops.some((op) => op.request === 'request_put' || op.request === 'request_delete_range' || (op.request === 'request_txn' && txnHasWrites(op.request_txn!)));
  return any(r.success) || any(r.failure);
}
