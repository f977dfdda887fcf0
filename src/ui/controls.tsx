/** Small labelled controls: every control has a visible label and works from the keyboard. */
import { useEffect, useId, useMemo, useState, type ReactNode } from 'react';

/** A select with a label; options may be grouped. */
export function Select<T extends string>(props: {
  label: string;
  value: T;
  onChange(value: T): void;
  options: readonly { value: T; label: string; group?: string }[];
  title?: string;
}) {
  const id = useId();
  // The option elements are made once per options array (a constant in the panels), not on every edit.
  const options = useMemo(() => {
    const groups = [...new Set(props.options.map((o) => o.group ?? ''))];
    return groups.map((g) =>
      g ? (
        <optgroup key={g} label={g}>
          {props.options.filter((o) => o.group === g).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </optgroup>
      ) : (
        props.options.filter((o) => !o.group).map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))
      ),
    );
  }, [props.options]);
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} title={props.title} onChange={(e) => props.onChange(e.target.value as T)}>
        {options}
      </select>
    </div>
  );
}

/**
 * A number field that keeps what the user types until it parses; a value is committed on every
 * valid change (the runner debounces), and the field follows the store when it changes elsewhere.
 */
export function NumberField(props: {
  label: string;
  value: number;
  onChange(value: number): void;
  min?: number;
  max?: number;
  step?: number | 'any';
  integer?: boolean;
  hint?: string;
}) {
  const id = useId();
  const [text, setText] = useState(String(props.value));
  useEffect(() => setText(String(props.value)), [props.value]);
  const parse = (t: string) => {
    const v = Number(t);
    if (t.trim() === '' || !Number.isFinite(v)) return null;
    if (props.integer && !Number.isInteger(v)) return null;
    return v;
  };
  const invalid = parse(text) === null;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        inputMode="decimal"
        value={text}
        min={props.min}
        max={props.max}
        step={props.step ?? (props.integer ? 1 : 'any')}
        aria-invalid={invalid || undefined}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onChange={(e) => {
          setText(e.target.value);
          const v = parse(e.target.value);
          if (v !== null && v !== props.value) props.onChange(v);
        }}
        onBlur={() => setText(String(props.value))}
      />
      {props.hint && (
        <small id={`${id}-hint`} className="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

/** A range slider with its number beside it. */
export function Slider(props: { label: string; value: number; min: number; max: number; step?: number; onChange(value: number): void }) {
  const id = useId();
  return (
    <div className="field slider">
      <label htmlFor={id}>
        {props.label} <output htmlFor={id}>{props.value}</output>
      </label>
      <input id={id} type="range" min={props.min} max={props.max} step={props.step ?? 1} value={props.value} onChange={(e) => props.onChange(Number(e.target.value))} />
    </div>
  );
}

/** A text field committed on Enter or blur. */
export function TextField(props: { label: string; value: string; onCommit(value: string): void; placeholder?: string; hint?: string }) {
  const id = useId();
  const [text, setText] = useState(props.value);
  useEffect(() => setText(props.value), [props.value]);
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="text"
        value={text}
        placeholder={props.placeholder}
        spellCheck={false}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => text !== props.value && props.onCommit(text)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && text !== props.value) props.onCommit(text);
        }}
      />
      {props.hint && <small className="hint">{props.hint}</small>}
    </div>
  );
}

/** A checkbox with its label. */
export function Check(props: { label: string; checked: boolean; onChange(checked: boolean): void }) {
  return (
    <label className="check">
      <input type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)} /> {props.label}
    </label>
  );
}

/** A radio group in a fieldset with a legend. */
export function Radios<T extends string>(props: { legend: string; value: T; options: readonly { value: T; label: string }[]; onChange(value: T): void }) {
  const name = useId();
  return (
    <fieldset className="radios">
      <legend>{props.legend}</legend>
      {props.options.map((o) => (
        <label key={o.value}>
          <input type="radio" name={name} value={o.value} checked={props.value === o.value} onChange={() => props.onChange(o.value)} /> {o.label}
        </label>
      ))}
    </fieldset>
  );
}

/** A collapsible panel section. */
export function Panel(props: { title: string; children: ReactNode; open?: boolean }) {
  return (
    <details className="panel" open={props.open ?? true}>
      <summary>
        <h2>{props.title}</h2>
      </summary>
      <div className="panel-body">{props.children}</div>
    </details>
  );
}
