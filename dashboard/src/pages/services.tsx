import { useState } from 'preact/hooks';
import type { InstanceView, ServicesView } from '../../../src/admin/api-types.ts';
import { api, get, seg } from '../api.ts';
import { ActionButton, Badge, Card, Empty, ErrorBox, MetricCell, Since, useInfo, usePolling, useResource } from '../components.tsx';
import { useLiveReload } from '../live.ts';
import { Topology } from './topology.tsx';

export function ServicesPage() {
  const r = useResource((signal) => get<ServicesView>('/api/services', signal), []);
  useLiveReload(['services'], r.reload);
  const info = useInfo();
  // Health and traffic change without registry events: refresh them every few seconds.
  usePolling(r.reload, 3000, info.metricsAvailable);
  return (
    <div class="page" data-testid="page-services">
      <h1>Services</h1>
      <ErrorBox error={r.error} />
      {!info.metricsAvailable && (
        <p class="muted">Health, requests per second, error rate and p99 show "n/a": no metrics source is connected to this dashboard yet.</p>
      )}
      {r.data && r.data.services.length === 0 && <Empty>No service has registered an instance.</Empty>}
      {r.data?.services.map((s) => (
        <Card
          key={s.name}
          testid={`service-${s.name}`}
          title={
            <>
              {s.name} <span class="muted">{s.instances.length} instance{s.instances.length === 1 ? '' : 's'}</span>
            </>
          }
          actions={
            <>
              <Badge kind="ok">{s.serving} serving</Badge>
              {s.draining > 0 && <Badge kind="warn">{s.draining} draining</Badge>}
              {s.malformed > 0 && <Badge kind="bad">{s.malformed} malformed</Badge>}
            </>
          }
        >
          <table>
            <thead>
              <tr>
                <th>instance</th>
                <th>status</th>
                <th>version</th>
                <th>zone</th>
                <th>weight</th>
                <th>endpoints</th>
                <th title="health check">health</th>
                <th>RPS</th>
                <th>errors</th>
                <th>p99</th>
                <th title="since the dashboard saw this registration">registered</th>
                <th>lease</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {s.instances.map((i) => (
                <InstanceRow key={i.key} instance={i} onChange={r.reload} />
              ))}
            </tbody>
          </table>
        </Card>
      ))}
      {r.data && info.metricsAvailable && <Topology services={r.data.services.map((s) => s.name)} />}
    </div>
  );
}

function InstanceRow({ instance: i, onChange }: { instance: InstanceView; onChange: () => void }) {
  const info = useInfo();
  const [weight, setWeight] = useState<string | undefined>();
  const path = `/api/services/${seg(i.service)}/instances/${seg(i.id)}`;
  const patch = async (body: object) => {
    await api('PATCH', path, { ...body, expectedModRevision: i.modRevision });
    onChange();
  };
  if (i.malformed) {
    return (
      <tr data-testid={`instance-${i.id}`} class="malformed">
        <td class="mono">{i.id}</td>
        <td colSpan={12}>
          <Badge kind="bad">malformed</Badge> {i.malformed} (<span class="mono">{i.key}</span>)
        </td>
      </tr>
    );
  }
  const m = i.metrics;
  return (
    <tr data-testid={`instance-${i.id}`}>
      <td class="mono">{i.id}</td>
      <td>
        <Badge kind={i.status === 'serving' ? 'ok' : 'warn'} testid="status">
          {i.status}
        </Badge>
      </td>
      <td>{i.version ?? '-'}</td>
      <td>{i.zone ?? '-'}</td>
      <td>
        {info.readOnly || weight === undefined ? (
          <span class="weight">
            <span data-testid="weight">{i.weight ?? '-'}</span>
            {!info.readOnly && (
              <button class="link" data-testid="edit-weight" onClick={() => setWeight(String(i.weight ?? ''))}>
                edit
              </button>
            )}
          </span>
        ) : (
          <span class="weight-edit">
            <input type="number" min={0} value={weight} onInput={(e) => setWeight(e.currentTarget.value)} data-testid="weight-input" />
            <ActionButton
              kind="primary"
              testid="save-weight"
              disabled={!/^\d+$/.test(weight)}
              onClick={async () => {
                await patch({ weight: Number(weight) });
                setWeight(undefined);
              }}
            >
              save
            </ActionButton>
            <button class="link" onClick={() => setWeight(undefined)}>
              cancel
            </button>
          </span>
        )}
      </td>
      <td class="mono">{i.endpoints.join(' ')}</td>
      <td>{m ? <Badge kind={m.health === 'serving' ? 'ok' : m.health === 'not-serving' ? 'bad' : ''}>{m.health}</Badge> : <MetricCell value={null} />}</td>
      <td>
        <MetricCell value={m?.requestsPerSecond} />
      </td>
      <td>
        <MetricCell value={m?.errorRate === null || m?.errorRate === undefined ? m?.errorRate : m.errorRate * 100} unit="%" />
      </td>
      <td>
        <MetricCell value={m?.p99Ms} unit=" ms" />
      </td>
      <td>
        <Since t={i.registeredSince} />
      </td>
      <td class="mono muted">{i.lease ?? '-'}</td>
      <td class="row-actions">
        {i.status === 'serving' ? (
          <ActionButton kind="danger" testid="drain" title="set status draining: balancers stop sending new work" onClick={() => patch({ status: 'draining' })}>
            drain
          </ActionButton>
        ) : (
          <ActionButton testid="resume" onClick={() => patch({ status: 'serving' })}>
            resume
          </ActionButton>
        )}
      </td>
    </tr>
  );
}
