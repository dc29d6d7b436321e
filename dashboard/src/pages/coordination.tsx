import type { CoordinationView, QueueEntryView } from '../../../src/admin/api-types.ts';
import { get } from '../api.ts';
import { Badge, Card, Empty, ErrorBox, Since, useResource } from '../components.tsx';
import { clock } from '../format.ts';
import { useLiveReload } from '../live.ts';

export function CoordinationPage() {
  const r = useResource((signal) => get<CoordinationView>('/api/coordination', signal), []);
  useLiveReload(['locks', 'semaphores', 'elections'], r.reload);
  const v = r.data;
  return (
    <div class="page" data-testid="page-coordination">
      <h1>Locks &amp; Elections</h1>
      <p class="muted">
        etcd records no creation time, so durations are what this dashboard observed on its watch. A "≥" means it was already so when the dashboard started
        watching; hover for the exact time. Fencing tokens are the keys' create revisions.
      </p>
      <ErrorBox error={r.error} />
      {v && (
        <>
          <Card title="Locks" testid="locks">
            {v.locks.length === 0 ? (
              <Empty>No lock is held.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>lock</th>
                    <th>holder (instance, lease)</th>
                    <th>fencing token</th>
                    <th>held for</th>
                    <th>lease TTL</th>
                    <th>waiting, in order</th>
                  </tr>
                </thead>
                <tbody>
                  {v.locks.map((l) => (
                    <tr key={l.name} data-testid={`lock-${l.name}`}>
                      <td>{l.name}</td>
                      <Holder e={l.holder} />
                      <td>
                        <Queue entries={l.waiters} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Elections" testid="elections">
            {v.elections.length === 0 ? (
              <Empty>No election has candidates.</Empty>
            ) : (
              v.elections.map((e) => (
                <div key={e.name} class="election" data-testid={`election-${e.name}`}>
                  <h3>
                    {e.name}{' '}
                    {e.leader ? (
                      <Badge kind="ok" testid="leader">
                        leader: {e.leader.value || '(empty value)'}
                      </Badge>
                    ) : (
                      <Badge kind="warn">no leader</Badge>
                    )}
                  </h3>
                  <table>
                    <thead>
                      <tr>
                        <th>leader lease</th>
                        <th>fencing token</th>
                        <th>leader for</th>
                        <th>lease TTL</th>
                        <th>candidates, in order</th>
                      </tr>
                    </thead>
                    <tbody>
                      <tr>
                        <Holder e={e.leader} />
                        <td>
                          <Queue entries={e.candidates} showValue />
                        </td>
                      </tr>
                    </tbody>
                  </table>
                  <details open={e.history.length > 1}>
                    <summary>leadership history ({e.history.length} observed)</summary>
                    <table class="compact">
                      <tbody>
                        {e.history.map((t) => (
                          <tr key={`${t.key}@${t.fencingToken}`} data-testid="term">
                            <td>{t.value || '(empty)'}</td>
                            <td class="mono muted">{t.lease}</td>
                            <td>token {t.fencingToken}</td>
                            <td>
                              {t.from.exact ? clock(t.from.at) : `before ${clock(t.from.at)}`} → {t.to ? clock(t.to) : 'now'}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </details>
                </div>
              ))
            )}
          </Card>
          <Card title="Semaphores" testid="semaphores">
            {v.semaphores.length === 0 ? (
              <Empty>No semaphore is in use.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>semaphore</th>
                    <th>permits</th>
                    <th>holders</th>
                    <th>waiting, in order</th>
                  </tr>
                </thead>
                <tbody>
                  {v.semaphores.map((s) => (
                    <tr key={s.name}>
                      <td>{s.name}</td>
                      <td>{s.permits ?? '?'}</td>
                      <td>
                        <Queue entries={s.holders} held />
                      </td>
                      <td>
                        <Queue entries={s.waiters} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </>
      )}
    </div>
  );
}

function Holder({ e }: { e: QueueEntryView | null }) {
  if (!e)
    return (
      <td colSpan={4} class="muted">
        none
      </td>
    );
  return (
    <>
      <td title={e.key} data-testid="holder">
        {e.instance ? <span data-testid="holder-instance">{e.instance}</span> : <span class="muted">unknown instance</span>} <span class="mono muted">{e.lease}</span>
      </td>
      <td data-testid="fencing-token">{e.fencingToken}</td>
      <td>
        <Since t={e.since} />
      </td>
      <td>{e.leaseTtl ? `${e.leaseTtl.remaining}s of ${e.leaseTtl.granted}s` : '-'}</td>
    </>
  );
}

function Queue({ entries, showValue, held }: { entries: QueueEntryView[]; showValue?: boolean; held?: boolean }) {
  if (entries.length === 0) return <span class="muted">-</span>;
  return (
    <ol class="queue">
      {entries.map((w) => (
        <li key={w.key} title={w.key} data-testid="queued">
          {w.instance && !showValue && <span data-testid="queued-instance">{w.instance} </span>}
          <span class="mono">{w.lease}</span>
          {showValue && w.value && <> ({w.value})</>} <span class="muted">rev {w.createRevision}</span> <span class="muted">{held ? 'held' : 'waiting'}</span> <Since t={w.since} />
        </li>
      ))}
    </ol>
  );
}
