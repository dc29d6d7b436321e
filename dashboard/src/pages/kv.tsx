import { useEffect, useState } from 'preact/hooks';
import type { KvChange, KvListing, KvValueView } from '../../../src/admin/api-types.ts';
import { get } from '../api.ts';
import { Card, Empty, ErrorBox, useInfo, useResource } from '../components.tsx';
import { bytes } from '../format.ts';
import { readSse } from '../live.ts';
import { navigate, useLocation } from '../router.tsx';

type View = 'decoded' | 'utf8' | 'hex';

/** Raw keys under a prefix (any prefix: the namespace does not apply), one value decoded, live changes. */
export function KvPage() {
  const info = useInfo();
  const { query } = useLocation();
  const prefix = query.get('prefix') ?? info.namespace;
  const selected = query.get('key');
  const [draft, setDraft] = useState(prefix);
  const [pages, setPages] = useState(1);
  const list = useResource((signal) => get<KvListing>(`/api/kv?prefix=${encodeURIComponent(prefix)}&limit=${200 * pages}`, signal), [prefix, pages]);
  const [liveOn, setLiveOn] = useState(true);
  const [changes, setChanges] = useState<KvChange[]>([]);
  const [streamError, setStreamError] = useState<string>();
  useEffect(() => setDraft(prefix), [prefix]);

  // Live watch from the listing's revision: every change after it, none missed.
  const fromRevision = list.data && list.data.prefix === prefix ? list.data.revision + 1 : undefined;
  useEffect(() => {
    if (!liveOn || fromRevision === undefined) return;
    const ac = new AbortController();
    setStreamError(undefined);
    readSse(
      `/api/kv/watch?prefix=${encodeURIComponent(prefix)}&fromRevision=${fromRevision}`,
      (event, data) => {
        if (event === 'changes') {
          const batch = (data as { changes: KvChange[] }).changes;
          setChanges((cur) => [...batch.reverse(), ...cur].slice(0, 100));
          list.reload();
        } else if (event === 'error') setStreamError((data as { message: string }).message);
      },
      ac.signal,
    ).then(
      (status) => !ac.signal.aborted && status >= 400 && setStreamError(`live watch refused (HTTP ${status})`),
      () => !ac.signal.aborted && setStreamError('live watch interrupted'),
    );
    return () => ac.abort();
    // Restarting on every listing reload would re-watch needlessly: only prefix and toggle matter.
  }, [prefix, liveOn, fromRevision === undefined]);
  useEffect(() => setChanges([]), [prefix]);

  const go = (p: string, key?: string) => navigate(`/kv?prefix=${encodeURIComponent(p)}${key ? `&key=${encodeURIComponent(key)}` : ''}`);
  return (
    <div class="page" data-testid="page-kv">
      <h1>KV browser</h1>
      <form
        class="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          setPages(1);
          go(draft);
        }}
      >
        <label class="grow">
          prefix <input value={draft} onInput={(e) => setDraft(e.currentTarget.value)} placeholder="(empty: every key)" data-testid="kv-prefix" />
        </label>
        <button class="primary" data-testid="kv-go">
          Browse
        </button>
        <label>
          <input type="checkbox" checked={liveOn} onChange={(e) => setLiveOn(e.currentTarget.checked)} data-testid="kv-live" /> live
        </label>
      </form>
      <ErrorBox error={list.error} />
      {streamError && <ErrorBox error={streamError} />}
      <div class="split">
        <Card title={`Keys${list.data ? ` (${list.data.keys.length}${list.data.more ? '+' : ''}) at revision ${list.data.revision}` : ''}`} testid="kv-keys">
          {list.data && list.data.keys.length === 0 && <Empty>No keys under this prefix.</Empty>}
          <table class="compact">
            <tbody>
              {list.data?.keys.map((k) => (
                <tr key={k.key} class={k.key === selected ? 'selected' : ''} onClick={() => go(prefix, k.key)} data-testid="kv-row">
                  <td class="mono key">{k.key.startsWith(prefix) && prefix ? <span class="muted">{prefix}</span> : null}{k.key.startsWith(prefix) && prefix ? k.key.slice(prefix.length) : k.key}</td>
                  <td class="muted nowrap">{bytes(k.size)}</td>
                  <td class="muted" title="mod revision">
                    r{k.modRevision}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data?.more && (
            <button class="link" onClick={() => setPages((n) => n + 1)}>
              show more
            </button>
          )}
        </Card>
        <div class="split-right">
          {selected ? <ValueCard keyName={selected} changes={changes} /> : <Card><Empty>Select a key to see its value.</Empty></Card>}
          {liveOn && (
            <Card title="Live changes" testid="kv-changes">
              {changes.length === 0 ? (
                <Empty>Watching; no change yet.</Empty>
              ) : (
                <ul class="feed">
                  {changes.map((c, i) => (
                    <li key={`${c.revision}-${c.key}-${i}`} data-testid="kv-change">
                      <span class={c.type === 'put' ? 'ok-text' : 'error-text'}>{c.type}</span> <span class="mono">{c.key}</span> <span class="muted">rev {c.revision}</span>
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          )}
        </div>
      </div>
    </div>
  );
}

function ValueCard({ keyName, changes }: { keyName: string; changes: KvChange[] }) {
  const touched = changes.filter((c) => c.key === keyName).length;
  const r = useResource((signal) => get<KvValueView>(`/api/kv/value?key=${encodeURIComponent(keyName)}`, signal), [keyName, touched]);
  const [view, setView] = useState<View>('decoded');
  const v = r.data;
  return (
    <Card
      title={<span class="mono">{keyName}</span>}
      testid="kv-value"
      actions={
        <span class="tabs small">
          {(['decoded', 'utf8', 'hex'] as View[]).map((x) => (
            <button key={x} class={view === x ? 'tab active' : 'tab'} onClick={() => setView(x)} data-testid={`kv-view-${x}`}>
              {x === 'decoded' ? 'decoded' : x === 'utf8' ? 'UTF-8' : 'hex'}
            </button>
          ))}
        </span>
      }
    >
      <ErrorBox error={r.error} />
      {v && (
        <>
          <p class="muted" data-testid="kv-meta">
            {v.encoding === 'json' ? 'JSON' : v.encoding === 'utf8' ? 'UTF-8 text' : 'binary'}, {bytes(v.size)}, created at revision {v.createRevision}, modified at {v.modRevision}, version {v.version}
            {v.lease ? `, lease ${v.lease}` : ', no lease'}
          </p>
          <pre class="value" data-testid="kv-value-text">
            {view === 'hex' || v.text === null
              ? hexDump(v.hex) + (v.hexTruncated ? '\n… (first 64 KiB)' : '')
              : view === 'decoded' && v.encoding === 'json'
                ? JSON.stringify(v.json, null, 2)
                : v.text}
          </pre>
        </>
      )}
    </Card>
  );
}

function hexDump(hex: string): string {
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += 32) {
    const chunk = hex.slice(i, i + 32);
    const pairs = chunk.match(/../g) ?? [];
    const ascii = pairs.map((p) => {
      const c = parseInt(p, 16);
      return c >= 32 && c < 127 ? String.fromCharCode(c) : '.';
    });
    lines.push(`${(i / 2).toString(16).padStart(6, '0')}  ${pairs.join(' ').padEnd(47)}  ${ascii.join('')}`);
  }
  return lines.join('\n');
}
