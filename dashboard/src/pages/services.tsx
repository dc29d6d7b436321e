import { useState } from 'preact/hooks';
import type { InstanceView, ServicesView, ServiceView } from '../../../src/admin/api-types.ts';
import { api, get, seg } from '../api.ts';
import { ActionButton, Badge, Card, Empty, ErrorBox, MetricCell, Since, useInfo, usePolling, useResource } from '../components.tsx';
import { useLiveReload } from '../live.ts';
import { Topology } from './topology.tsx';

export function ServicesPage() {
  const r = useResource((signal) => get<ServicesView>('/api/services', signal), []);
  useLiveReload(['services'], r.reload);
  const info = useInfo();
  const foreign = !!r.data?.services.some((s) => s.format !== 'coord');
  // Health and traffic change without registry events, and foreign-format records are not on the
  // admin server's watch: refresh every few seconds.
  usePolling(r.reload, 3000, info.metricsAvailable || foreign);
  return (
    <div class="page" data-testid="page-services">
      <h1>Services</h1>
      <ErrorBox error={r.error} />
      {!info.metricsAvailable && (
        <p class="muted">Health, requests per second, error rate and p99 show "n/a": no metrics source is connected to this dashboard yet.</p>
      )}
      {r.data?.foreignError && <p class="muted" data-testid="foreign-error">{r.data.foreignError}</p>}
      {r.data && r.data.services.length === 0 && <Empty>No service has registered an instance.</Empty>}
      {r.data?.services.map((s) => (
        <Card
          key={`${s.format} ${s.name}`}
          testid={s.format === 'coord' ? `service-${s.name}` : `service-${s.format}-${s.name}`}
          title={
            <>
              {s.name} {s.format !== 'coord' && <FormatBadge service={s} />}{' '}
              <span class="muted">{s.instances.length} instance{s.instances.length === 1 ? '' : 's'}</span>
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
                <InstanceRow key={i.key} instance={i} foreign={s.format !== 'coord'} onChange={r.reload} />
              ))}
            </tbody>
          </table>
        </Card>
      ))}
      {r.data && info.metricsAvailable && <Topology services={r.data.services.map((s) => s.name)} />}
    </div>
  );
}

const FORMAT_TITLES: Record<string, string> = {
  'grpc-go': "etcd's naming/endpoints records, as grpc-go's etcd resolver reads them",
  kratos: "Kratos' etcd registry records",
  'go-zero': "go-zero's discov records",
};

/** Marks a service listed from a Go framework's registry layout (read-only here: Go has no drain). */
function FormatBadge({ service: s }: { service: ServiceView }) {
  return (
    <Badge kind={`format format-${s.format}`} testid="format" title={`${FORMAT_TITLES[s.format] ?? s.format} under ${s.prefix ?? ''} (read-only)`}>
      {s.format}
    </Badge>
  );
}

function InstanceRow({ instance: i, foreign, onChange }: { instance: InstanceView; foreign: boolean; onChange: () => void }) {
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
        {info.readOnly || foreign || weight === undefined ? (
          <span class="weight">
            <span data-testid="weight">{i.weight ?? '-'}</span>
            {!info.readOnly && !foreign && (
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
        {foreign ? (
          i.publishedBy && (
            <span class="muted published-by" data-testid="published-by" title="this record is under that coord instance's lease (register with formats)">
              by {i.publishedBy}
            </span>
          )
        ) : i.status === 'serving' ? (
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
