import { useEffect, useState } from 'preact/hooks';
import type { AdminInfo } from '../../src/admin/api-types.ts';
import { ApiFailure, auth, get, onAuthChange } from './api.ts';
import { ErrorBox, InfoContext, useNow } from './components.tsx';
import { clock, duration } from './format.ts';
import { live, useLiveState } from './live.ts';
import { Login } from './login.tsx';
import { ConfigDetailPage } from './pages/config-detail.tsx';
import { ConfigPage } from './pages/config.tsx';
import { CoordinationPage } from './pages/coordination.tsx';
import { EventsPage } from './pages/events.tsx';
import { KvPage } from './pages/kv.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { ServicesPage } from './pages/services.tsx';
import { Link, useLocation } from './router.tsx';

const NAV = [
  { href: '/', label: 'Overview', match: (p: string) => p === '/' },
  { href: '/services', label: 'Services', match: (p: string) => p.startsWith('/services') },
  { href: '/config', label: 'Config', match: (p: string) => p.startsWith('/config') },
  { href: '/coordination', label: 'Locks & Elections', match: (p: string) => p.startsWith('/coordination') },
  { href: '/events', label: 'Events', match: (p: string) => p.startsWith('/events') },
  { href: '/kv', label: 'KV browser', match: (p: string) => p.startsWith('/kv') },
];

export function App() {
  const [info, setInfo] = useState<AdminInfo>();
  const [error, setError] = useState<ApiFailure>();
  const [needLogin, setNeedLogin] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => onAuthChange(() => setTick((n) => n + 1)), []);
  useEffect(() => {
    let cancelled = false;
    get<AdminInfo>('/api/info').then(
      (i) => {
        if (cancelled) return;
        setInfo(i);
        setNeedLogin(false);
        setError(undefined);
        live.start();
      },
      (e: ApiFailure) => {
        if (cancelled) return;
        live.stop();
        if (e.status === 401) setNeedLogin(true);
        else setError(e);
      },
    );
    return () => void (cancelled = true);
  }, [tick]);

  if (needLogin) return <Login />;
  if (error) return <div class="boot"><ErrorBox error={error} /></div>;
  if (!info) return <div class="boot">loading…</div>;
  return (
    <InfoContext.Provider value={info}>
      <Shell info={info} />
    </InfoContext.Provider>
  );
}

function Shell({ info }: { info: AdminInfo }) {
  const { path } = useLocation();
  const state = useLiveState();
  return (
    <div class="layout">
      <nav class="sidebar">
        <div class="brand">
          coord<span>admin</span>
        </div>
        {NAV.map((n) => (
          <Link key={n.href} href={n.href} class={n.match(path) ? 'active' : ''} testid={`nav-${n.label.split(' ')[0].toLowerCase()}`}>
            {n.label}
          </Link>
        ))}
        <div class="sidebar-foot">
          <div title="etcd endpoints">{info.endpoints.join(', ')}</div>
          <div title="key prefix">namespace {info.namespace}</div>
          {info.readOnly && <div class="badge warn" data-testid="read-only">read-only</div>}
          {info.authRequired && (
            <button class="link" onClick={() => auth.set(null)}>
              sign out
            </button>
          )}
        </div>
      </nav>
      <main>
        {!state.stream && state.failing && <div class="banner warn" data-testid="stream-down">Live updates paused: reconnecting to the admin server…</div>}
        {state.stream && state.watch && !state.watch.connected && (
          <div class="banner error" data-testid="etcd-down">
            etcd is unreachable: the pages show the last known state
            {state.watch.lostAt && <LastKnown lostAt={state.watch.lostAt} revision={state.watch.revision} />}.
          </div>
        )}
        <Page path={path} />
      </main>
    </div>
  );
}

/** ", revision 42, as of 10:31:05 (2m 10s old)": when the shown state was last known current. */
function LastKnown({ lostAt, revision }: { lostAt: string; revision: number }) {
  const now = useNow();
  return (
    <span data-testid="last-known" title={new Date(lostAt).toLocaleString()}>
      , revision {revision}, as of {clock(lostAt)} ({duration(now - Date.parse(lostAt))} old)
    </span>
  );
}

function Page({ path }: { path: string }) {
  if (path === '/') return <OverviewPage />;
  if (path === '/services') return <ServicesPage />;
  if (path === '/config') return <ConfigPage />;
  const m = /^\/config\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) return <ConfigDetailPage namespace={decodeURIComponent(m[1])} configKey={decodeURIComponent(m[2])} />;
  if (path === '/coordination') return <CoordinationPage />;
  if (path === '/events') return <EventsPage />;
  if (path === '/kv') return <KvPage />;
  return (
    <div class="page">
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link href="/">Overview</Link>
      </p>
    </div>
  );
}
