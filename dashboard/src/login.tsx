import { useState } from 'preact/hooks';
import { ApiFailure, api, auth } from './api.ts';

/** Asks for the admin token (required when the server is not bound to loopback). */
export function Login() {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <div class="login">
      <form
        data-testid="login"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            // Check the token before keeping it, so a typo gets an answer here.
            await fetchInfo(token.trim());
            auth.set(token.trim());
          } catch (err) {
            setError(err instanceof ApiFailure && err.status === 401 ? 'Wrong token.' : (err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>
          coord<span>admin</span>
        </h1>
        <p>This dashboard requires the token it was started with (<code>--token</code> or <code>COORD_ADMIN_TOKEN</code>).</p>
        <input type="password" autocomplete="current-password" placeholder="admin token" value={token} onInput={(e) => setToken(e.currentTarget.value)} data-testid="token" autofocus />
        <button class="primary" disabled={busy || !token.trim()} data-testid="sign-in">
          Sign in
        </button>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
      </form>
    </div>
  );
}

async function fetchInfo(token: string): Promise<void> {
  const saved = auth.token;
  sessionStorage.setItem('coord-admin-token', token);
  try {
    await api('GET', '/api/info');
  } finally {
    if (saved) sessionStorage.setItem('coord-admin-token', saved);
    else sessionStorage.removeItem('coord-admin-token');
  }
}
