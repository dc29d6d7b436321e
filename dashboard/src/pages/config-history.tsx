import { useEffect, useState } from 'preact/hooks';
import type { ConfigVersionView, DiffView } from '../../../src/admin/api-types.ts';
import { api, get, type ApiFailure } from '../api.ts';
import { ActionButton, Badge, Card, Empty, ErrorBox, useResource } from '../components.tsx';
import { time } from '../format.ts';
import { author } from './config-editor.tsx';

/** Every published version (newest first), a side-by-side diff of any two, and rollback. */
export function HistoryPanel(props: { base: string; history: ConfigVersionView[] | undefined; error: ApiFailure | undefined; current: ConfigVersionView | null; onDone: () => void }) {
  const versions = props.history ?? [];
  const [pair, setPair] = useState<{ from: number; to: number }>();
  // Default: the newest version against the one before it.
  useEffect(() => {
    if (versions.length >= 2) setPair({ from: versions[1].version, to: versions[0].version });
  }, [versions[0]?.version]);
  return (
    <>
      <ErrorBox error={props.error} />
      <Card title="Versions" testid="history">
        {versions.length === 0 ? (
          <Empty>No versions.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>version</th>
                <th>published</th>
                <th>author</th>
                <th>message</th>
                <th>revision</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.map((v, i) => (
                <tr key={v.version} data-testid={`version-${v.version}`}>
                  <td>
                    v{v.version} {props.current?.version === v.version && <Badge kind="ok">current</Badge>}
                  </td>
                  <td>{time(v.publishedAt)}</td>
                  <td>{v.author || '-'}</td>
                  <td>{v.message || '-'}</td>
                  <td class="muted">{v.revision}</td>
                  <td class="row-actions">
                    {i + 1 < versions.length && (
                      <button class="link" onClick={() => setPair({ from: versions[i + 1].version, to: v.version })} data-testid="diff-previous">
                        diff with v{versions[i + 1].version}
                      </button>
                    )}
                    {props.current?.raw !== v.raw && (
                      <ActionButton
                        testid="rollback"
                        confirm={`Publish the text of v${v.version} again as a new version?`}
                        onClick={async () => {
                          await api('POST', `${props.base}/rollback`, { version: v.version, expectedVersion: props.current?.version ?? 0, author: author.get() });
                          props.onDone();
                        }}
                      >
                        roll back to v{v.version}
                      </ActionButton>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {versions.length >= 2 && pair && <DiffCard base={props.base} versions={versions} pair={pair} onPair={setPair} />}
    </>
  );
}

function DiffCard(props: { base: string; versions: ConfigVersionView[]; pair: { from: number; to: number }; onPair: (p: { from: number; to: number }) => void }) {
  const { from, to } = props.pair;
  const diff = useResource((signal) => get<DiffView>(`${props.base}/diff?from=${from}&to=${to}`, signal), [props.base, from, to]);
  const select = (value: number, onChange: (v: number) => void, testid: string) => (
    <select value={value} onChange={(e) => onChange(Number(e.currentTarget.value))} data-testid={testid}>
      {props.versions.map((v) => (
        <option key={v.version} value={v.version}>
          v{v.version}
        </option>
      ))}
    </select>
  );
  return (
    <Card
      title="Diff"
      testid="diff"
      actions={
        <span>
          {select(from, (v) => props.onPair({ from: v, to }), 'diff-from')} → {select(to, (v) => props.onPair({ from, to: v }), 'diff-to')}
        </span>
      }
    >
      <ErrorBox error={diff.error} />
      {diff.data && (
        <table class="diff">
          <thead>
            <tr>
              <th colSpan={2}>
                v{diff.data.from.version} <span class="muted">{time(diff.data.from.publishedAt)}</span>
              </th>
              <th colSpan={2}>
                v{diff.data.to.version} <span class="muted">{time(diff.data.to.publishedAt)}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {diff.data.rows.map((r, i) => (
              <tr key={i} class={r.kind} data-testid={`diff-${r.kind}`}>
                <td class="ln">{r.left?.line ?? ''}</td>
                <td class={`code ${r.left && r.kind !== 'same' ? 'del' : ''}`}>{r.left?.text ?? ''}</td>
                <td class="ln">{r.right?.line ?? ''}</td>
                <td class={`code ${r.right && r.kind !== 'same' ? 'ins' : ''}`}>{r.right?.text ?? ''}</td>
              </tr>
            ))}
            {diff.data.rows.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  both versions are empty
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Card>
  );
}
