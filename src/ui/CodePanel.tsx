/** Code export: the same network and initialization in Chainer v1, Chainer v7, PyTorch and Keras, with a copy button. */
import { useId, useMemo, useState } from 'react';
import { codeSnippet, FRAMEWORKS, FRAMEWORK_LABELS, type Framework } from '../engine/codeExport';
import { resolveB } from '../link/codec';
import { Panel, Select } from './controls';
import { useApp } from './useApp';

const FRAMEWORK_OPTIONS = FRAMEWORKS.map((f) => ({ value: f, label: FRAMEWORK_LABELS[f] }));

/** The snippet of A (or B) for the chosen framework, and whether the framework expresses it exactly. */
export function CodePanel() {
  const config = useApp((s) => s.config);
  const [framework, setFramework] = useState<Framework>('chainer7');
  const [side, setSide] = useState<'a' | 'b'>('a');
  const [copied, setCopied] = useState(false);
  const id = useId();
  const run = side === 'b' ? (resolveB(config) ?? config.a) : config.a;
  const snippet = useMemo(() => codeSnippet(run, framework), [run, framework]);
  return (
    <Panel title="Code" open={false}>
      <Select
        label="Framework"
        value={framework}
        options={FRAMEWORK_OPTIONS}
        onChange={(f) => {
          setFramework(f);
          setCopied(false);
        }}
      />
      {config.b && (
        <Select
          label="Configuration"
          value={side}
          options={[
            { value: 'a', label: 'A' },
            { value: 'b', label: 'B' },
          ]}
          onChange={(v) => setSide(v as "a" | "b")}
        />
      )}
      {!snippet.exact && (
        <p className="hint" role="note">
          Not exact in {FRAMEWORK_LABELS[framework]}: {snippet.notes.join(' ')}
        </p>
      )}
      <pre className="code" id={id} tabIndex={0} aria-label={`${FRAMEWORK_LABELS[framework]} code`}>
        <code>{snippet.code}</code>
      </pre>
      <button
        type="button"
        className="small"
        aria-describedby={id}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(snippet.code);
          } finally {
            setCopied(true);
          }
        }}
      >
        {copied ? 'Copied' : 'Copy code'}
      </button>
    </Panel>
  );
}
