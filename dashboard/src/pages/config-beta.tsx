import { useState } from 'preact/hooks';
import type { ConfigDetail, ConfigFormatName } from '../../../src/admin/api-types.ts';
import { api } from '../api.ts';
import { ActionButton, Card, useInfo } from '../components.tsx';
import { time } from '../format.ts';
import { ChangeMeta, ValueEditor, author } from './config-editor.tsx';

/** Parses `zone=a, tier=gold` into labels; undefined when a part has no `=`. */
function parseLabels(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Gray release: the current beta with promote / abort, or a form to publish one. */
export function BetaPanel(props: { base: string; namespace: string; configKey: string; detail: ConfigDetail; onDone: () => void }) {
  const { beta, current } = props.detail;
  const info = useInfo();
  if (beta) {
    const sel = [...(beta.selector.ids ?? []).map((id) => `id ${id}`), ...Object.entries(beta.selector.labels ?? {}).map(([k, v]) => `${k}=${v}`)];
    return (
      <Card title="Beta in progress" testid="beta">
        <p>
          Served to instances matching <strong data-testid="beta-selector">{sel.join(', ')}</strong> instead of{' '}
          {beta.version ? `v${beta.version}` : 'no stable value'}. Published {time(beta.publishedAt)}
          {beta.author ? ` by ${beta.author}` : ''}
          {beta.message ? `: ${beta.message}` : ''}.
        </p>
        <pre class="value" data-testid="beta-value">
          {beta.raw}
        </pre>
        <div class="form-row">
          <ActionButton
            kind="primary"
            testid="promote"
            confirm="Publish the beta as the next stable version for everyone?"
            onClick={async () => {
              await api('POST', `${props.base}/beta/promote`, { expectedVersion: current?.version ?? 0, author: author.get() });
              props.onDone();
            }}
          >
            Promote to everyone
          </ActionButton>
          <ActionButton
            kind="danger"
            testid="abort-beta"
            confirm="Remove the beta? Matching instances go back to the stable value."
            onClick={async () => {
              await api('DELETE', `${props.base}/beta`);
              props.onDone();
            }}
          >
            Abort beta
          </ActionButton>
        </div>
      </Card>
    );
  }
  if (info.readOnly) return <Card title="Gray release">No beta in progress.</Card>;
  return <BetaForm {...props} />;
}

function BetaForm(props: { base: string; namespace: string; configKey: string; detail: ConfigDetail; onDone: () => void }) {
  const { current } = props.detail;
  const [ids, setIds] = useState('');
  const [labels, setLabels] = useState('');
  const [value, setValue] = useState(current?.raw ?? '');
  const [format, setFormat] = useState<ConfigFormatName>(current?.format ?? 'json');
  const [message, setMessage] = useState('');
  const [valid, setValid] = useState(false);
  const idList = ids.split(',').map((s) => s.trim()).filter(Boolean);
  const labelMap = parseLabels(labels);
  const selectorOk = labelMap !== undefined && idList.length + Object.keys(labelMap).length > 0;
  return (
    <Card title="Publish a beta" testid="beta-form">
      <p class="muted">A beta is served only to the instances it selects (by id, or carrying every given label); everyone else keeps the stable value until you promote it.</p>
      <div class="form-row">
        <label class="grow">
          instance ids <input value={ids} onInput={(e) => setIds(e.currentTarget.value)} placeholder="orders-1, orders-2" data-testid="beta-ids" />
        </label>
        <label class="grow">
          labels <input value={labels} onInput={(e) => setLabels(e.currentTarget.value)} placeholder="zone=a, canary=true" data-testid="beta-labels" />
        </label>
      </div>
      {labelMap === undefined && <div class="inline-error">labels are written key=value, separated by commas</div>}
      <ValueEditor namespace={props.namespace} configKey={props.configKey} format={format} onFormat={setFormat} value={value} onValue={setValue} onValid={setValid} testid="beta-editor" />
      <ChangeMeta message={message} onMessage={setMessage} />
      <ActionButton
        kind="primary"
        testid="publish-beta"
        disabled={!valid || !selectorOk}
        title={!selectorOk ? 'select at least one instance id or label' : undefined}
        onClick={async () => {
          await api('PUT', `${props.base}/beta`, { value, format, selector: { ids: idList.length ? idList : undefined, labels: Object.keys(labelMap!).length ? labelMap : undefined }, author: author.get(), message: message || undefined });
          props.onDone();
        }}
      >
        Publish beta
      </ActionButton>
    </Card>
  );
}
