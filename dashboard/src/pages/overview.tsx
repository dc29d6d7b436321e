import { useEffect, useState } from 'preact/hooks';
import type { FeedEvent, Overview } from '../../../src/admin/api-types.ts';
import { get } from '../api.ts';
import { Badge, Card, Empty, ErrorBox, Stat, useResource } from '../components.tsx';
import { bytes, clock, time } from '../format.ts';
import { live, useLiveReload } from '../live.ts';

export function OverviewPage() {
  const r = useResource((signal) => get<Overview>('/api/overview', signal), []);
  useLiveReload(['services', 'config', 'locks', 'semaphores', 'elections', 'other'], r.reload);
  const o = r.data;
  return (
    <div class="page" data-testid="page-overview">
      <h1>Overview</h1>
      <ErrorBox error={r.error} />
      {o && (
        <>
          {o.cluster.asOf && (
            <p class="muted" data-testid="cluster-as-of">
              Cluster figures as read at {clock(o.cluster.asOf)}, the last time etcd answered.
            </p>
          )}
          <div class="stats">
            <Stat label={o.cluster.kind} value={<span class="small-value">{o.cluster.version}</span>} hint={o.cluster.version} testid="stat-version" />
            <Stat label="revision" value={o.cluster.revision} testid="stat-revision" />
            <Stat label="DB size" value={bytes(o.cluster.dbSize)} />
            <Stat label="members" value={o.cluster.members.length || '?'} />
            <Stat label="raft term" value={o.cluster.raftTerm} />
          </div>
          <div class="stats">
            <Stat label="services" value={o.counts.services} testid="count-services" />
            <Stat label="instances" value={o.counts.instances} hint={`${o.counts.serving} serving, ${o.counts.draining} draining`} testid="count-instances" />
            <Stat label="draining" value={o.counts.draining} />
            <Stat label="config keys" value={o.counts.configKeys} testid="count-config" />
            <Stat label="locks held" value={o.counts.locks} hint={`${o.counts.lockWaiters} waiting`} testid="count-locks" />
            <Stat label="elections" value={o.counts.elections} testid="count-elections" />
            <Stat label="semaphores" value={o.counts.semaphores} />
            <Stat
              label="leases (cluster)"
              value={o.counts.leases ?? 'n/a'}
              hint={`every lease granted in the cluster; ${o.counts.leasesInNamespace} attached to keys in this namespace`}
              testid="count-leases"
            />
          </div>
          <Card title="Members">
            {o.cluster.membersError && <ErrorBox error={`member list unavailable: ${o.cluster.membersError}`} />}
            <table>
              <thead>
                <tr>
                  <th>name</th>
                  <th>id</th>
                  <th>role</th>
                  <th>client URLs</th>
                  <th>version</th>
                  <th>revision</th>
                  <th>DB size</th>
                </tr>
              </thead>
              <tbody>
                {o.cluster.members.map((m) => (
                  <tr key={m.id} data-testid="member">
                    <td>{m.name || '(unnamed)'}</td>
                    <td class="mono">{BigInt(m.id).toString(16)}</td>
                    <td>{m.isLeader ? <Badge kind="ok">leader</Badge> : m.isLearner ? <Badge>learner</Badge> : <Badge>follower</Badge>}</td>
                    <td class="mono">{m.clientUrls.join(', ')}</td>
                    {m.status ? (
                      <>
                        <td>{m.status.version}</td>
                        <td>{m.status.revision}</td>
                        <td>{bytes(m.status.dbSize)}</td>
                      </>
                    ) : (
                      <td colSpan={3} class="error-text" title={m.error}>
                        not answering: {m.error}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          <EventsCard since={o.watch.since} initial={o.events} />
        </>
      )}
    </div>
  );
}

/** The recent events: what the overview returned, then every live event as it arrives. */
function EventsCard({ since, initial }: { since: string; initial: FeedEvent[] }) {
  const [events, setEvents] = useState(initial);
  useEffect(() => setEvents((cur) => merge(initial, cur)), [initial]);
  useEffect(() => live.subscribe((e) => setEvents((cur) => merge([e], cur))), []);
  return (
    <Card title="Recent events" actions={<span class="muted">observed since {time(since)}</span>} testid="events">
      {events.length === 0 ? (
        <Empty>No changes observed yet.</Empty>
      ) : (
        <ul class="feed">
          {events.map((e) => (
            <li key={e.seq} data-testid="event">
              <span class="muted mono">{clock(e.at)}</span> <Badge kind={`area-${e.area}`}>{e.area}</Badge> {e.summary}{' '}
              <span class="muted">rev {e.revision}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function merge(a: FeedEvent[], b: FeedEvent[]): FeedEvent[] {
  const bySeq = new Map<number, FeedEvent>();
  for (const e of [...a, ...b]) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((x, y) => y.seq - x.seq).slice(0, 200);
}
