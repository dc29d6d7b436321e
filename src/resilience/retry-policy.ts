// Per-method timeouts and retries as the standard gRPC service config (`methodConfig` and
// `retryThrottling`), which grpc-js enforces itself: retries with jittered exponential backoff
// inside the call's deadline, pushback from servers, and a per-target retry token bucket. This
// file only builds that JSON from typed, validated options, in a shape that merges into the
// balancer's service config.
import type * as grpc from '@grpc/grpc-js';
// grpc-js's own validator, so a config we build is one it accepts (the same deep import as
// grpc/service-config.ts; the pin test there fails loudly if it moves).
import { validateServiceConfig, type MethodConfig, type RetryThrottling } from '@grpc/grpc-js/build/src/service-config.js';
import { CoordError } from '../core/errors.ts';

export type { MethodConfig, RetryThrottling };

/** A gRPC status code by name, as in service configs: 'UNAVAILABLE', 'ABORTED', … */
export type StatusName = keyof typeof grpc.status;

/** A method's retry policy (grpc's retryPolicy with defaults); defaults in each field's doc. */
export interface RetryOptions {
  /**
   * Attempts in all, the first included; at least 2. grpc-js caps it at 5 unless the channel
   * option `grpc-node.retry_max_attempts_limit` says otherwise. Default 3.
   */
  maxAttempts?: number;
  /** Delay before the first retry, ms; grpc-js jitters every delay by ±20 %. Default 100. */
  initialBackoffMs?: number;
  /** Cap on a delay, ms. Default 2000. */
  maxBackoffMs?: number;
  /** Growth per retry. Default 2. */
  backoffMultiplier?: number;
  /**
   * Statuses worth another attempt. Default ['UNAVAILABLE'] (the server could not be reached, or
   * shed the call before running it). Only list codes a retry can fix; RESOURCE_EXHAUSTED is the
   * server asking for less traffic. grpc-js retries a call only while the server has sent nothing
   * but a status (no headers, no messages), yet that status can come after the handler ran, so
   * retry only idempotent methods.
   */
  retryableStatusCodes?: StatusName[];
}

/** Timeout, retries and wait-for-ready for a method or service, as `methodPolicies()` takes them. */
export interface MethodPolicy {
  /** Deadline for calls without an earlier one of their own, ms (grpc-js applies the earlier of the two). */
  timeoutMs?: number;
  /** Retries; false (or absent) for none. */
  retry?: RetryOptions | false;
  /** Queue calls while no connection is ready instead of failing them at once. */
  waitForReady?: boolean;
}

/**
 * Policies by name, the most specific match wins (gRPC's rule):
 * `'pkg.Service/Method'` (or `'/pkg.Service/Method'`), then `'pkg.Service'`, then `'*'` for every method.
 */
export type MethodPolicies = Record<string, MethodPolicy>;

/**
 * The retry budget: gRPC's token bucket, one per channel target. It holds `maxTokens` (≤ 1000);
 * each attempt failing with a retryable code takes one, each success gives back `tokenRatio`,
 * and no call is retried while at most half remain. So retries stay on while the share of failing
 * attempts is below tokenRatio / (1 + tokenRatio), and switch off, after about maxTokens / 2 net
 * failures, when it is above. The default { maxTokens: 10, tokenRatio: 0.25 } keeps retrying
 * while up to 20 % of attempts fail (one bad instance in five; Finagle's and Envoy's 20 % budget);
 * gRPC's own example, tokenRatio 0.1, stops at 9 %. Connection failures before a call is sent
 * are retried by grpc-js without spending tokens.
 */
export type RetryBudget = RetryThrottling;

/** The retry budget `methodPolicies()` uses by default: it keeps retrying while up to 20 % of attempts fail (see RetryBudget). */
export const DEFAULT_RETRY_BUDGET: RetryBudget = { maxTokens: 10, tokenRatio: 0.25 };

/** The service-config part this file owns: spread it into serviceConfig() options or a raw service config. */
export interface MethodConfigFragment {
  methodConfig: MethodConfig[];
  retryThrottling?: RetryThrottling;
}

/**
 * Builds `methodConfig` (and `retryThrottling`) for a service config. When any policy retries, a
 * retry budget comes with it (DEFAULT_RETRY_BUDGET unless `retryBudget` says otherwise; false for
 * none), so retries cannot multiply the load on a backend that is already failing.
 *
 * ```ts
 * serviceConfig({ ...methodPolicies({
 *   '*': { timeoutMs: 5000 },
 *   'shop.Orders/Get': { timeoutMs: 300, retry: { maxAttempts: 3 } },
 * }) })
 * ```
 */
export function methodPolicies(policies: MethodPolicies, options: { retryBudget?: RetryBudget | false } = {}): MethodConfigFragment {
  const methodConfig = Object.entries(policies).map(([name, policy]) => toMethodConfig(name, policy));
  const retries = methodConfig.some((m) => m.retryPolicy);
  const budget = options.retryBudget ?? (retries ? DEFAULT_RETRY_BUDGET : false);
  const fragment: MethodConfigFragment = { methodConfig, ...(budget ? { retryThrottling: { ...budget } } : {}) };
  validate(fragment);
  return fragment;
}

/**
 * `config` (a service config object or its JSON) with `fragment` merged in: a method name the
 * fragment configures is taken out of the config's own entries, the config's other entries stay,
 * and the fragment's retry budget replaces the config's. Returns the same kind it was given.
 */
export function withMethodConfig<T extends object | string>(config: T, fragment: MethodConfigFragment): T {
  const base = (typeof config === 'string' ? JSON.parse(config) : config) as { methodConfig?: MethodConfig[]; retryThrottling?: RetryThrottling };
  const taken = new Set(fragment.methodConfig.flatMap((m) => m.name.map(nameKey)));
  const kept = (base.methodConfig ?? [])
    .map((m) => ({ ...m, name: m.name.filter((n) => !taken.has(nameKey(n))) }))
    .filter((m) => m.name.length > 0);
  const merged = {
    ...base,
    methodConfig: [...kept, ...fragment.methodConfig],
    ...(fragment.retryThrottling ? { retryThrottling: fragment.retryThrottling } : {}),
  };
  validate(merged);
  return (typeof config === 'string' ? JSON.stringify(merged) : merged) as T;
}

function toMethodConfig(key: string, policy: MethodPolicy): MethodConfig {
  const m: MethodConfig = { name: [parseName(key)] };
  if (policy.timeoutMs !== undefined) {
    positive(policy.timeoutMs, `${key}: timeoutMs`);
    // The object form: grpc-js 1.14 reads the string form "0.5s" as 5 nanoseconds.
    m.timeout = { seconds: Math.floor(policy.timeoutMs / 1000), nanos: Math.round((policy.timeoutMs % 1000) * 1e6) };
  }
  if (policy.waitForReady !== undefined) m.waitForReady = policy.waitForReady;
  if (policy.retry) {
    const r = { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 2000, backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] as StatusName[], ...policy.retry };
    if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 2) throw invalid(`${key}: retry.maxAttempts must be an integer ≥ 2, got ${r.maxAttempts}`);
    positive(r.initialBackoffMs, `${key}: retry.initialBackoffMs`);
    positive(r.maxBackoffMs, `${key}: retry.maxBackoffMs`);
    positive(r.backoffMultiplier, `${key}: retry.backoffMultiplier`);
    if (r.retryableStatusCodes.length === 0) throw invalid(`${key}: retry.retryableStatusCodes is empty; use retry: false for no retries`);
    m.retryPolicy = {
      maxAttempts: r.maxAttempts,
      initialBackoff: seconds(r.initialBackoffMs),
      maxBackoff: seconds(Math.max(r.maxBackoffMs, r.initialBackoffMs)),
      backoffMultiplier: r.backoffMultiplier,
      retryableStatusCodes: [...r.retryableStatusCodes],
    };
  }
  return m;
}

function parseName(key: string): { service?: string; method?: string } {
  if (key === '*') return {};
  const [service, method, ...rest] = key.replace(/^\//, '').split('/');
  if (!service || rest.length > 0 || method === '') throw invalid(`method policy name '${key}': expected '*', 'pkg.Service' or 'pkg.Service/Method'`);
  return method === undefined ? { service } : { service, method };
}

const nameKey = (n: { service?: string; method?: string }) => `${n.service ?? ''}/${n.method ?? ''}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(3)}s`;

function positive(v: number, what: string): void {
  if (!(v > 0) || !Number.isFinite(v)) throw invalid(`${what} must be a positive number, got ${v}`);
}

function validate(config: object): void {
  try {
    validateServiceConfig(config);
  } catch (e) {
    throw invalid(`invalid method config: ${(e as Error).message}`, e);
  }
}

const invalid = (message: string, cause?: unknown) => new CoordError('invalid-argument', message, { cause });
