import type { ApiError } from '../../src/admin/api-types.ts';

const TOKEN_KEY = 'coord-admin-token';

/** The bearer token for this tab (sessionStorage: gone when the tab closes). */
export const auth = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string | null): void {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    for (const l of authListeners) l();
  },
};
const authListeners = new Set<() => void>();
export function onAuthChange(l: () => void): () => void {
  authListeners.add(l);
  return () => authListeners.delete(l);
}

/** A failed API call: the HTTP status and the server's `{ error, message }`. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json', ...extra };
  if (auth.token) h.authorization = `Bearer ${auth.token}`;
  return h;
}

/** Calls the admin API; rejects with an ApiFailure (401 also drops the stored token). */
export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiFailure(0, 'network', 'the admin server did not answer (is it still running?)');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json as Partial<ApiError> | undefined;
    if (res.status === 401 && auth.token) auth.set(null);
    throw new ApiFailure(res.status, err?.error ?? 'http', err?.message ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal);

/** Path segment escaping for config namespaces, keys, services and ids. */
export const seg = (s: string) => encodeURIComponent(s);
