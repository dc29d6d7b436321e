import { useCallback, useRef, useState } from 'preact/hooks';
import type { DeadLettersView, EventsOverview, EventTailView, OutboxReportView } from '../../../src/admin/api-types.ts';
import { api, get, seg } from '../api.ts';
import { ActionButton, Badge, Card, Empty, ErrorBox, usePolling, useResource } from '../components.tsx';
import { clock, duration } from '../format.ts';

/** Engines are not on the admin server's etcd watch (NATS never is): the page reads them every few seconds. */
const POLL_MS = 2000;

export function EventsPage() {
  const overview = useResource((signal) => get<EventsOverview>('/api/event-engine', signal), []);
  const engine = overview.data?.engine;
  const dead = useResource((signal) => (engine ? get<DeadLettersView>('/api/event-engine/dead-letters', signal) : Promise.resolve({ deadLetters: [] })), [engine?.name]);
  const reload = useCallback(() => {
    overview.reload();
    dead.reload();
  }, [overview.reload, dead.reload]);
  usePolling(useSkipWhileLoading(reload, overview.loading || dead.loading), POLL_MS);
  const v = overview.data;
  return (
    <div class="page" data-testid="page-events">
      <h1>Events</h1>
      <ErrorBox error={overview.error} />
      {v && (
        <>
          <p class="muted" data-testid="engine">
            {v.engine ? (
              <>
                Engine <strong data-testid="engine-name">{v.engine.name}</strong>
                {v.engine.servers && <> on {v.engine.servers.join(', ')}</>}.
              </>
            ) : (
              <span data-testid="no-engine">No events engine to show: {v.engineError}</span>
            )}
          </p>
          {v.topicsAsOf && (
            <p class="banner warn" data-testid="topics-stale">
              The engine did not answer ({v.engineError}): the figures below are the last read, as of {clock(v.topicsAsOf)}.
            </p>
          )}
          <Card title="Streams and consumer lag" testid="streams">
            {v.topics.length === 0 ? (
              <Empty>No topic holds events yet.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>topic</th>
                    <th title="events the engine keeps for the topic">events</th>
                    <th>consumer group</th>
                    <th title="events the group has not handled yet: its lag">pending</th>
                    <th>dead letters</th>
                  </tr>
                </thead>
                <tbody>
                  {v.topics.flatMap((t) =>
                    (t.groups.length === 0 ? [undefined] : t.groups).map((g, i) => (
                      <tr key={`${t.topic}/${g?.group ?? ''}`} data-testid={g ? `group-${t.topic}-${g.group}` : `topic-${t.topic}`}>
                        <td>{i === 0 && t.topic}</td>
                        <td data-testid="events">{i === 0 && t.events}</td>
                        <td>{g ? g.group : <span class="muted">no consumer group yet</span>}</td>
                        <td data-testid="pending">{g ? <Badge kind={g.pending === 0 ? 'ok' : 'warn'}>{g.pending}</Badge> : '-'}</td>
                        <td data-testid="dead-count">{g ? <Badge kind={g.deadLetters === 0 ? '' : 'bad'}>{g.deadLetters}</Badge> : '-'}</td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            )}
          </Card>
          <Outboxes rows={v.outboxes} error={v.outboxesError} asOf={v.outboxesAsOf} />
          {engine && <DeadLetters view={dead.data} error={dead.error?.message} onChange={reload} />}
          {engine && v.topics.length > 0 && <RecentEvents topics={v.topics.map((t) => t.topic)} />}
        </>
      )}
    </div>
  );
}

function Outboxes({ rows, error, asOf }: { rows: OutboxReportView[]; error?: string; asOf?: string }) {
  return (
    <Card title="Outbox backlog" testid="outboxes">
      {asOf && (
        <p class="banner warn" data-testid="outboxes-stale">
          etcd did not answer ({error}): the reports below are the last read, as of {clock(asOf)}.
        </p>
      )}
      {!asOf && error && <ErrorBox error={error} />}
      {rows.length === 0 ? (
        <Empty>No outbox relay reports its backlog (relays publish it under events/outbox/ every few seconds).</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>outbox</th>
              <th>relay instance</th>
              <th>relaying</th>
              <th title="events committed but not yet published">backlog</th>
              <th title="age of the oldest unpublished event: the relay's lag">oldest</th>
              <th title="events this instance published since it started">sent</th>
              <th>errors</th>
              <th>reported</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) =>
              'malformed' in r ? (
                <tr key={`${r.outbox}/${r.instance}`} data-testid={`outbox-${r.outbox}-${r.instance}`}>
                  <td>{r.outbox}</td>
                  <td class="mono">{r.instance}</td>
                  <td colSpan={6}>
                    <Badge kind="bad">malformed</Badge> {r.malformed}
                  </td>
                </tr>
              ) : (
                <tr key={`${r.outbox}/${r.instance}`} data-testid={`outbox-${r.outbox}-${r.instance}`}>
                  <td>{r.outbox}</td>
                  <td class="mono">{r.instance}</td>
                  <td>{r.leader ? <Badge kind="ok">leader</Badge> : <span class="muted">standby</span>}</td>
                  <td data-testid="backlog">{r.backlog}</td>
                  <td data-testid="oldest">{duration(r.oldestAgeSeconds * 1000)}</td>
                  <td data-testid="sent">{r.sent}</td>
                  <td>{r.errors}</td>
                  <td title={r.updated}>{clock(r.updated)}</td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function DeadLetters({ view, error, onChange }: { view: DeadLettersView | undefined; error?: string; onChange: () => void }) {
  const list = view?.deadLetters ?? [];
  return (
    <Card title="Dead letters" testid="dead-letters">
      <ErrorBox error={error} />
      {list.length === 0 ? (
        <Empty>No consumer group gave up on an event.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>topic</th>
              <th>group</th>
              <th>event</th>
              <th>type</th>
              <th>key</th>
              <th>attempts</th>
              <th>last error</th>
              <th>given up</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={`${d.event.topic}/${d.group}/${d.event.id}`} data-testid={`dead-${d.event.topic}-${d.group}-${d.event.id}`}>
                <td>{d.event.topic}</td>
                <td>{d.group}</td>
                <td class="mono">{d.event.id}</td>
                <td>{d.event.type}</td>
                <td class="mono">{d.event.key}</td>
                <td>{d.attempts}</td>
                <td data-testid="dead-error">{d.error}</td>
                <td title={d.time}>{clock(d.time)}</td>
                <td class="row-actions">
                  <ActionButton
                    kind="primary"
                    testid="redrive"
                    title={`deliver ${d.event.id} to ${d.group} again`}
                    onClick={async () => {
                      await api('POST', `/api/event-engine/topics/${seg(d.event.topic)}/groups/${seg(d.group)}/dead-letters/${seg(d.event.id)}/redrive`);
                      onChange();
                    }}
                  >
                    Re-drive
                  </ActionButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

/**
 * `reload`, skipped while the last load is still under way: a reload aborts the load in flight, and
 * while etcd or the engine is slow to answer, polling would otherwise abort every load.
 */
function useSkipWhileLoading(reload: () => void, loading: boolean): () => void {
  const busy = useRef(loading);
  busy.current = loading;
  return useCallback(() => busy.current || reload(), [reload]);
}

/** The newest events of one topic, newest first: `notifications` is the shop's notification feed. */
function RecentEvents({ topics }: { topics: string[] }) {
  const [chosen, setChosen] = useState<string>();
  const topic = chosen && topics.includes(chosen) ? chosen : topics.includes('notifications') ? 'notifications' : topics[0];
  const r = useResource((signal) => get<EventTailView>(`/api/event-engine/topics/${seg(topic)}/tail?limit=20`, signal), [topic]);
  usePolling(useSkipWhileLoading(r.reload, r.loading), POLL_MS);
  const events = [...(r.data?.topic === topic ? r.data.events : [])].reverse();
  return (
    <Card
      title={<>Recent events{topic === 'notifications' && <span class="muted"> — the notification feed</span>}</>}
      testid="recent-events"
      actions={
        <span class="tabs">
          {topics.map((t) => (
            <button key={t} class={t === topic ? 'primary' : 'plain'} data-testid={`feed-topic-${t}`} onClick={() => setChosen(t)}>
              {t}
            </button>
          ))}
        </span>
      }
    >
      <ErrorBox error={r.error} />
      {events.length === 0 ? (
        <Empty>No events in {topic}.</Empty>
      ) : (
        <table class="compact">
          <thead>
            <tr>
              <th>time</th>
              <th>type</th>
              <th>key</th>
              <th>event</th>
              <th>data</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid="recent-event">
                <td title={e.time}>{clock(e.time)}</td>
                <td>{e.type}</td>
                <td class="mono">{e.key}</td>
                <td class="mono muted">{e.id}</td>
                <td class="mono">{JSON.stringify(e.data)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
