import { useEffect, useState } from 'preact/hooks';
import type { ConfigFormatName, ValidationResult } from '../../../src/admin/api-types.ts';
import { api, seg } from '../api.ts';

/** Who the user says they are, remembered in this browser; recorded as the author of changes. */
export const author = {
  get: (): string | undefined => localStorage.getItem('coord-admin-author') || undefined,
  set: (v: string) => localStorage.setItem('coord-admin-author', v),
};

export type Validity = { state: 'checking' } | { state: 'ok' } | { state: 'bad'; message: string };

/**
 * A text editor for a config value with its format. The text is checked by the server's own
 * parser (the same one publish uses, including coord's YAML subset) as the user types; `onValid`
 * says whether it may be published.
 */
export function ValueEditor(props: {
  namespace: string;
  configKey: string;
  format: ConfigFormatName;
  onFormat: (f: ConfigFormatName) => void;
  value: string;
  onValue: (v: string) => void;
  onValid: (ok: boolean) => void;
  testid?: string;
}) {
  const [validity, setValidity] = useState<Validity>({ state: 'checking' });
  useEffect(() => {
    setValidity({ state: 'checking' });
    props.onValid(false);
    const ac = new AbortController();
    const t = setTimeout(() => {
      api<ValidationResult>('POST', `/api/config/${seg(props.namespace)}/${seg(props.configKey)}/validate`, { value: props.value, format: props.format }, ac.signal).then(
        (r) => {
          setValidity(r.ok ? { state: 'ok' } : { state: 'bad', message: r.message ?? 'invalid' });
          props.onValid(r.ok);
        },
        (e: Error) => {
          if (!ac.signal.aborted) setValidity({ state: 'bad', message: `could not check: ${e.message}` });
        },
      );
    }, 200);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [props.value, props.format, props.namespace, props.configKey]);
  const lines = props.value.split('\n').length;
  return (
    <div class="editor" data-testid={props.testid ?? 'editor'}>
      <div class="editor-bar">
        <label>
          format{' '}
          <select value={props.format} onChange={(e) => props.onFormat(e.currentTarget.value as ConfigFormatName)} data-testid="format">
            <option value="json">JSON</option>
            <option value="yaml">YAML</option>
            <option value="text">text</option>
          </select>
        </label>
        <span class={`validity ${validity.state}`} data-testid="validity">
          {validity.state === 'checking' ? 'checking…' : validity.state === 'ok' ? `valid ${props.format.toUpperCase()}` : validity.message}
        </span>
      </div>
      <div class="editor-body">
        <pre class="gutter" aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => i + 1).join('\n')}
        </pre>
        <textarea
          spellcheck={false}
          value={props.value}
          rows={Math.min(Math.max(lines + 1, 6), 30)}
          onInput={(e) => props.onValue(e.currentTarget.value)}
          onKeyDown={(e) => {
            // Tab indents instead of leaving the editor.
            if (e.key !== 'Tab') return;
            e.preventDefault();
            const t = e.currentTarget;
            const { selectionStart: a, selectionEnd: b } = t;
            props.onValue(t.value.slice(0, a) + '  ' + t.value.slice(b));
            requestAnimationFrame(() => t.setSelectionRange(a + 2, a + 2));
          }}
          data-testid="value"
        />
      </div>
    </div>
  );
}

/** Message and author fields shared by publish, rollback and beta forms. */
export function ChangeMeta(props: { message: string; onMessage: (m: string) => void }) {
  const [who, setWho] = useState(author.get() ?? '');
  return (
    <div class="form-row">
      <label class="grow">
        message <input value={props.message} onInput={(e) => props.onMessage(e.currentTarget.value)} placeholder="why this change" data-testid="message" />
      </label>
      <label>
        author{' '}
        <input
          value={who}
          placeholder="you"
          onInput={(e) => {
            setWho(e.currentTarget.value);
            author.set(e.currentTarget.value);
          }}
          data-testid="author"
        />
      </label>
    </div>
  );
}
