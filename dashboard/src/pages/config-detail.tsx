import { useEffect, useState } from 'preact/hooks';
import type { ConfigDetail, ConfigFormatName, ConfigVersionView } from '../../../src/admin/api-types.ts';
import { api, get, seg } from '../api.ts';
import { ActionButton, Badge, Card, ErrorBox, useInfo, useResource } from '../components.tsx';
import { time } from '../format.ts';
import { useLiveReload } from '../live.ts';
import { Link } from '../router.tsx';
import { BetaPanel } from './config-beta.tsx';
import { ChangeMeta, ValueEditor, author } from './config-editor.tsx';
import { HistoryPanel } from './config-history.tsx';

type Tab = 'editor' | 'history' | 'beta';

export function ConfigDetailPage({ namespace, configKey }: { namespace: string; configKey: string }) {
  const base = `/api/config/${seg(namespace)}/${seg(configKey)}`;
  const detail = useResource((signal) => get<ConfigDetail>(base, signal), [base]);
  const history = useResource((signal) => get<ConfigVersionView[]>(`${base}/history`, signal), [base]);
  const reload = () => {
    detail.reload();
    history.reload();
  };
  useLiveReload(['config'], reload, (e) => e.subject === `${namespace}/${configKey}`);
  const info = useInfo();
  const [tab, setTab] = useState<Tab>('editor');
  const d = detail.data;
  return (
    <div class="page" data-testid="page-config-detail">
      <p class="crumbs">
        <Link href="/config">Config</Link> / {namespace}
      </p>
      <h1>
        {namespace}/{configKey}{' '}
        {d?.current && (
          <Badge kind="ok" testid="current-version">
            v{d.current.version}
          </Badge>
        )}
        {d?.beta && <Badge kind="warn">beta</Badge>}
      </h1>
      <ErrorBox error={detail.error} />
      {d && (
        <p class="muted" data-testid="current-meta">
          {d.current
            ? `${d.current.format.toUpperCase()}, published ${time(d.current.publishedAt)}${d.current.author ? ` by ${d.current.author}` : ''}${d.current.message ? `: ${d.current.message}` : ''} (etcd revision ${d.current.revision})`
            : 'No current value (removed); history is kept.'}
        </p>
      )}
      <div class="tabs">
        {(['editor', 'history', 'beta'] as Tab[]).map((t) => (
          <button key={t} class={tab === t ? 'tab active' : 'tab'} onClick={() => setTab(t)} data-testid={`tab-${t}`}>
            {t === 'editor' ? (info.readOnly ? 'Value' : 'Editor') : t === 'history' ? `History${history.data ? ` (${history.data.length})` : ''}` : 'Gray release'}
          </button>
        ))}
      </div>
      {d && tab === 'editor' && (info.readOnly ? <ReadOnlyValue current={d.current} /> : <PublishPanel key={base} base={base} namespace={namespace} configKey={configKey} current={d.current} onDone={reload} />)}
      {tab === 'history' && <HistoryPanel base={base} history={history.data} error={history.error} current={d?.current ?? null} onDone={reload} />}
      {d && tab === 'beta' && <BetaPanel base={base} namespace={namespace} configKey={configKey} detail={d} onDone={reload} />}
    </div>
  );
}

function ReadOnlyValue({ current }: { current: ConfigVersionView | null }) {
  return <Card>{current ? <pre class="value" data-testid="value-view">{current.raw}</pre> : <p class="muted">No current value.</p>}</Card>;
}

/**
 * The editor: starts from the current value; publishing sends the version it started from as the
 * expected version, so a publish made meanwhile by someone else is a conflict, not overwritten.
 */
function PublishPanel(props: { base: string; namespace: string; configKey: string; current: ConfigVersionView | null; onDone: () => void }) {
  const { current } = props;
  const snapshot = (c: ConfigVersionView | null) => ({ version: c?.version ?? 0, raw: c?.raw ?? '', format: c?.format ?? ('json' as ConfigFormatName) });
  const [base, setBase] = useState(() => snapshot(current));
  const [value, setValue] = useState(base.raw);
  const [format, setFormat] = useState<ConfigFormatName>(base.format);
  const [message, setMessage] = useState('');
  const [valid, setValid] = useState(false);
  const [published, setPublished] = useState<number>();
  const dirty = value !== base.raw || format !== base.format;
  const behind = (current?.version ?? 0) !== base.version;
  const load = (c: ConfigVersionView | null) => {
    const s = snapshot(c);
    setBase(s);
    setValue(s.raw);
    setFormat(s.format);
  };
  // A new version arrived while nothing was edited: follow it.
  useEffect(() => {
    if (!dirty) load(current);
  }, [current?.version]);
  return (
    <Card testid="publish">
      {behind && (
        <ErrorBox error={`v${current?.version ?? 0} was published after you started editing v${base.version}; publishing now will be refused.`}>
          {' '}
          <button class="link" onClick={() => load(current)}>
            discard my edits and load v{current?.version}
          </button>
        </ErrorBox>
      )}
      <ValueEditor namespace={props.namespace} configKey={props.configKey} format={format} onFormat={setFormat} value={value} onValue={setValue} onValid={setValid} />
      <ChangeMeta message={message} onMessage={setMessage} />
      <div class="form-row">
        <ActionButton
          kind="primary"
          testid="publish-button"
          disabled={!valid || !dirty}
          title={!dirty ? 'nothing changed' : !valid ? 'fix the value first' : undefined}
          onClick={async () => {
            const v = await api<ConfigVersionView>('PUT', props.base, { value, format, expectedVersion: base.version, author: author.get(), message: message || undefined });
            setBase({ version: v.version, raw: v.raw, format: v.format });
            setMessage('');
            setPublished(v.version);
            props.onDone();
          }}
        >
          Publish
        </ActionButton>
        {published !== undefined && (
          <span class="ok-text" data-testid="published">
            published v{published}
          </span>
        )}
      </div>
    </Card>
  );
}
