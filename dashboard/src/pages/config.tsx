import { useState } from 'preact/hooks';
import type { ConfigFormatName, ConfigNamespaceView } from '../../../src/admin/api-types.ts';
import { api, get, seg } from '../api.ts';
import { ActionButton, Badge, Card, Empty, ErrorBox, useInfo, useResource } from '../components.tsx';
import { time } from '../format.ts';
import { useLiveReload } from '../live.ts';
import { Link, navigate } from '../router.tsx';
import { ValueEditor, author } from './config-editor.tsx';

export function ConfigPage() {
  const r = useResource((signal) => get<ConfigNamespaceView[]>('/api/config', signal), []);
  useLiveReload(['config'], r.reload);
  const info = useInfo();
  return (
    <div class="page" data-testid="page-config">
      <h1>Config</h1>
      <ErrorBox error={r.error} />
      {r.data && r.data.length === 0 && <Empty>No config has been published in this namespace.</Empty>}
      {r.data?.map((ns) => (
        <Card key={ns.namespace} title={ns.namespace} testid={`config-ns-${ns.namespace}`}>
          <table>
            <thead>
              <tr>
                <th>key</th>
                <th>version</th>
                <th>format</th>
                <th>author</th>
                <th>published</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {ns.keys.map((k) => (
                <tr key={k.key} data-testid={`config-key-${k.key}`}>
                  <td>
                    <Link href={`/config/${seg(k.namespace)}/${seg(k.key)}`}>{k.key}</Link>
                  </td>
                  <td>{k.version === null ? '-' : `v${k.version}`}</td>
                  <td>{k.format ?? '-'}</td>
                  <td>{k.author || '-'}</td>
                  <td>{k.publishedAt ? time(k.publishedAt) : '-'}</td>
                  <td>
                    {k.hasBeta && <Badge kind="warn">beta</Badge>}
                    {k.malformed && (
                      <Badge kind="bad" title={k.malformed}>
                        malformed
                      </Badge>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      ))}
      {!info.readOnly && <NewConfig />}
    </div>
  );
}

/** Creates a key: its first publish, which must find the key absent (expected version 0). */
function NewConfig() {
  const [ns, setNs] = useState('');
  const [key, setKey] = useState('');
  const [format, setFormat] = useState<ConfigFormatName>('json');
  const [value, setValue] = useState('{\n  \n}\n');
  const [valid, setValid] = useState(false);
  const okName = (s: string) => s !== '' && !s.includes('/');
  return (
    <Card title="New config key" testid="new-config">
      <div class="form-row">
        <label>
          namespace <input value={ns} onInput={(e) => setNs(e.currentTarget.value.trim())} placeholder="shop" data-testid="new-namespace" />
        </label>
        <label>
          key <input value={key} onInput={(e) => setKey(e.currentTarget.value.trim())} placeholder="db.json" data-testid="new-key" />
        </label>
      </div>
      <ValueEditor namespace={ns || '_'} configKey={key || '_'} format={format} onFormat={setFormat} value={value} onValue={setValue} onValid={setValid} />
      <ActionButton
        kind="primary"
        testid="create-config"
        disabled={!okName(ns) || !okName(key) || !valid}
        onClick={async () => {
          await api('PUT', `/api/config/${seg(ns)}/${seg(key)}`, { value, format, expectedVersion: 0, author: author.get(), message: 'created in the dashboard' });
          navigate(`/config/${seg(ns)}/${seg(key)}`);
        }}
      >
        Create
      </ActionButton>
    </Card>
  );
}
