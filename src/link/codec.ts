/**
 * The share-link codec: Config <-> `key=value&...` text (link contract v1).
 *
 * Pure: no window, location or DOM. The link names, the defaults and the value forms come from
 * `KEYS` and `formatValue` in the schema, so one table drives both directions (STYLE.md 5); the
 * codec adds only how each kind of value is read back from text.
 *
 * Reading rules, which are part of the public contract:
 * - The link is what follows the first `#`; without a `#`, what follows the first `?` of a URL
 *   (`scheme://...`) or of text whose part before the `?` holds no `=`; a URL with neither is the
 *   empty link; other text is the link itself. Surrounding whitespace is ignored.
 * - Parts are split on `&` (empty parts skipped) and each part at its first `=`. Keys and values are
 *   percent-decoded as UTF-8; `+` is a literal plus, never a space (unlike form encoding).
 * - A bad value is reported by its key and replaced by its default; the rest of the link still applies.
 * - `b.<key>` overrides describe a comparison B = A with those keys changed. A rejected override
 *   is dropped, so B keeps A's value there.
 * - An empty link is the default configuration, without problems.
 */
import {
  KEYS,
  SCALE_DEFAULTS,
  SCHEMA_VERSION,
  defaultInput,
  defaultWidth,
  formatValue,
  linkName,
  validateRun,
  type Config,
  type Problem,
  type RunConfig,
} from '../engine/schema';

/** The panels a classroom link can hide (`hide=init,data`). */
export const PANELS = ['presets', 'network', 'activation', 'init', 'compare', 'data', 'view'] as const;
export type PanelName = (typeof PANELS)[number];

/**
 * How the page is shown, carried by the link beside the configuration: `embed=1` hides every
 * control (for embedding and presenting), `hide=init,data` hides chosen panels, `present=1` is the
 * projector layout. They change no number, so they are not part of `Config`.
 */
export interface ViewFlags {
  embed: boolean;
  hide: PanelName[];
  present: boolean;
}

/** The view flags of a link that has none. */
export function defaultViewFlags(): ViewFlags {
  return { embed: false, hide: [], present: false };
}

const VIEW_KEYS = new Set(['embed', 'hide', 'present']);

function parseFlag(text: string): boolean | null {
  return text === '1' || text === 'true' ? true : text === '0' || text === 'false' || text === '' ? false : null;
}

/** Links longer than this many characters are read only up to it. */
export const MAX_LINK_LENGTH = 8192;

/** The prefix of comparison (B) keys in a link: `b.init=lecun_normal`. */
export const B_PREFIX = 'b.';

/** The raw form of a link after percent-decoding: link key (`depth`, `b.init`, `v`...) to value text. */
export type RawLink = Map<string, string>;

/** Rewrites the raw key/value map of link version n into version n + 1 (keys renamed, values rewritten). */
export type Migration = (raw: ReadonlyMap<string, string>) => RawLink;

/**
 * Migrations by the version they read: `MIGRATIONS[n]` turns a version-n link into version n + 1.
 * Decoding applies them from the link's `v` up to SCHEMA_VERSION, so callers never see old forms.
 * Version 1 is the first, so there is nothing to migrate yet.
 */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {};

type Key = keyof RunConfig;
type Entry = (typeof KEYS)[number];
type Raw = Partial<Record<Key, unknown>>;

const BY_LINK: ReadonlyMap<string, Entry> = new Map(KEYS.map((k) => [k.link, k]));

// The contract's strict decimal, written so that a long run of digits cannot make it backtrack quadratically.
const DECIMAL = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const DECIMAL_RE = new RegExp(`^${DECIMAL}$`);
const SQRT_RE = new RegExp(`^sqrt\\((${DECIMAL})\\)$`);
const OVER_SQRT_RE = new RegExp(`^(${DECIMAL})/sqrt\\((${DECIMAL})\\)$`);
const SQRT_OVER_RE = new RegExp(`^sqrt\\((${DECIMAL})\\)/(${DECIMAL})$`);
const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type Parsed = { ok: true; value: unknown } | { ok: false; why: string };

/** Text shown in a message: quoted, and shortened so a pasted novel does not become the message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** -0 and 0 print the same in a link, so -0 is read as 0 to keep decode(encode(c)) equal to c. */
function decimal(text: string): number | null {
  if (!DECIMAL_RE.test(text)) return null;
  const x = Number(text);
  return x === 0 ? 0 : x;
}

function parseNumber(text: string): Parsed {
  const x = decimal(text);
  if (x === null) return { ok: false, why: `${quote(text)} is not a number` };
  if (!Number.isFinite(x)) return { ok: false, why: `${quote(text)} is not a finite number` };
  return { ok: true, value: x };
}

/** scale: a decimal, or sqrt(X), X/sqrt(Y), sqrt(X)/Y as people copy Chainer's `wscale=math.sqrt(2)`. */
function parseScale(text: string): Parsed {
  let x: number | null = decimal(text);
  let m: RegExpExecArray | null;
  if (x === null && (m = SQRT_RE.exec(text))) x = Math.sqrt(Number(m[1]));
  else if (x === null && (m = OVER_SQRT_RE.exec(text))) x = Number(m[1]) / Math.sqrt(Number(m[2]));
  else if (x === null && (m = SQRT_OVER_RE.exec(text))) x = Math.sqrt(Number(m[1])) / Number(m[2]);
  if (x === null) return { ok: false, why: `${quote(text)} is not a number, sqrt(X), X/sqrt(Y) or sqrt(X)/Y` };
  if (!Number.isFinite(x)) return { ok: false, why: `${quote(text)} is not a finite number` };
  return { ok: true, value: x === 0 ? 0 : x };
}

/** in: `D` or `CxHxW` (x in either case); whether the count fits the net is validateRun's call. */
function parseInput(text: string): Parsed {
  const parts = text.split(/x/i).map(decimal);
  if (parts.some((p) => p === null)) return { ok: false, why: `${quote(text)} is not an input shape D or CxHxW` };
  return { ok: true, value: parts };
}

/** widths: a comma list; the empty value means no per-layer widths (how B drops A's widths). */
function parseWidths(text: string): Parsed {
  if (text === '') return { ok: true, value: null };
  const parts = text.split(',').map(decimal);
  if (parts.some((p) => p === null)) return { ok: false, why: `${quote(text)} is not a comma list of integers` };
  return { ok: true, value: parts };
}

function parseText(text: string): Parsed {
  return { ok: true, value: text };
}

/** The reader of a key's text, by the kind of its value; numbers and strings follow KEYS' defaults. */
function parserOf(entry: Entry): (text: string) => Parsed {
  if (entry.key === 'input') return parseInput;
  if (entry.key === 'widths') return parseWidths;
  if (entry.key === 'scale') return parseScale;
  return typeof entry.default === 'number' ? parseNumber : parseText;
}

/** Equal configuration values: the same primitive, or arrays with the same elements. */
export function sameValue(x: unknown, y: unknown): boolean {
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  return Object.is(x, y);
}

function copyValue<T>(v: T): T {
  return (Array.isArray(v) ? [...v] : v) as T;
}

/** B's keys that differ from A's (B as `Config.b` holds it), or null when B equals A. */
export function overridesOf(a: RunConfig, b: RunConfig): Partial<RunConfig> | null {
  const diff: Raw = {};
  for (const { key } of KEYS) if (!sameValue(b[key], a[key])) diff[key] = copyValue(b[key]);
  return Object.keys(diff).length > 0 ? (diff as Partial<RunConfig>) : null;
}

/** The link text inside a URL, a `#hash` or a bare `key=value&...` string. */
function linkText(text: string): string {
  const s = text.trim();
  const hash = s.indexOf('#');
  if (hash >= 0) return s.slice(hash + 1);
  const query = s.indexOf('?');
  const url = URL_RE.test(s);
  if (query >= 0 && (url || !s.slice(0, query).includes('='))) return s.slice(query + 1);
  return url ? '' : s;
}

function percentDecode(text: string): string | null {
  let out: string;
  try {
    out = decodeURIComponent(text);
  } catch {
    return null;
  }
  return LONE_SURROGATE_RE.test(out) ? null : out;
}

/** A problem whose `used` is filled in once the validated configuration is known. */
interface Pending {
  problem: Problem;
  side: 'a' | 'b';
  key: Key;
}

/**
 * B's raw input: A's values with the overrides applied, and the follow rules. A changed init takes
 * its own default scale when A's scale was A's default; a changed net takes its own default input
 * when A's input was A's default; given widths decide the depth.
 */
function followA(a: RunConfig, overrides: Raw): Raw {
  const raw: Raw = { ...a, input: [...a.input], widths: a.widths && [...a.widths], ...overrides };
  // The scale belongs to its initializer (a std multiplier, a std, a bound or a wscale value), so a
  // changed init takes its own default scale: `init=wscale&scale=sqrt(2)&b.init=he_normal` is HeNormal().
  if ('init' in overrides && !('scale' in overrides)) delete raw.scale;
  if ('net' in overrides && !('input' in overrides) && sameValue(a.input, defaultInput(a.net))) delete raw.input;
  if ('net' in overrides && !('width' in overrides) && a.width === defaultWidth(a.net)) delete raw.width;
  if (Array.isArray(overrides.widths) && !('depth' in overrides)) delete raw.depth;
  return raw;
}

/** Validates B = A + overrides; an override validateRun rejects is dropped so B keeps A's value there. */
function resolveOverrides(a: RunConfig, given: Raw): { config: RunConfig; problems: Problem[] } {
  const overrides: Raw = { ...given };
  const rejectedProblems: Problem[] = [];
  for (;;) {
    const raw = followA(a, overrides);
    const { config, problems } = validateRun(raw);
    const rejected = (Object.keys(overrides) as Key[]).filter(
      (k) => !sameValue(config[k], raw[k]) && problems.some((p) => p.key === linkName(k)),
    );
    if (rejected.length === 0) {
      const told = new Set<string>();
      const all: Problem[] = [];
      for (const p of [...rejectedProblems, ...problems]) {
        // A later pass may find the same problem again (a cost limit, say); tell it once.
        const id = `${p.key}\n${p.message}`;
        if (told.has(id)) continue;
        told.add(id);
        const entry = BY_LINK.get(p.key);
        // A rejected override's problem is told with the value B finally has.
        const used = entry && rejectedProblems.includes(p) ? formatValue(entry.key, config[entry.key]) : p.used;
        all.push({ key: B_PREFIX + p.key, message: p.message, used });
      }
      return { config, problems: all };
    }
    for (const k of rejected) {
      rejectedProblems.push(...problems.filter((p) => p.key === linkName(k)));
      delete overrides[k];
    }
  }
}

function defaultConfig(): Config {
  return { a: validateRun({}).config, b: null };
}

/**
 * Reads a share link (full URL, `#hash` or bare `key=value&...`) into a valid configuration and
 * every problem found, each naming its key and the value used instead. Never throws.
 */
export function decode(text: string): { config: Config; problems: Problem[]; view: ViewFlags } {
  const early: Problem[] = [];
  let link = linkText(String(text));
  if (link.length > MAX_LINK_LENGTH) {
    // The part cut in two is dropped too: half a seed would silently give other numbers.
    const cut = Math.max(link[MAX_LINK_LENGTH] === '&' ? MAX_LINK_LENGTH : link.lastIndexOf('&', MAX_LINK_LENGTH - 1), 0);
    early.push({
      key: '',
      message: `the link has ${link.length} characters, more than ${MAX_LINK_LENGTH}; what follows character ${cut} was not read`,
      used: `the first ${cut} characters`,
    });
    link = link.slice(0, cut);
  }
  const parts = link.split('&').filter((p) => p !== '');
  const view = defaultViewFlags();
  if (parts.length === 0 && early.length === 0) return { config: defaultConfig(), problems: [], view };

  // Percent-decoding and duplicates (the first wins). A part without `=` has the empty value.
  let raw: RawLink = new Map();
  const seen = new Set<string>();
  const pending: Pending[] = [];
  let badVersion: string | null = null;
  for (const part of parts) {
    const eq = part.indexOf('=');
    const keyText = eq < 0 ? part : part.slice(0, eq);
    const valueText = eq < 0 ? '' : part.slice(eq + 1);
    const key = percentDecode(keyText);
    if (key === null) {
      early.push({ key: keyText.slice(0, 40), message: `the key ${quote(keyText)} is not valid percent-encoded UTF-8 (a malformed % escape or an unpaired surrogate)`, used: 'ignored' });
      continue;
    }
    const target = knownKey(key);
    if (seen.has(key)) {
      if (target || key === 'v') early.push({ key, message: `appears again, as ${quote(valueText)}; the first one is read`, used: 'ignored' });
      continue;
    }
    seen.add(key);
    const value = percentDecode(valueText);
    if (value !== null) raw.set(key, value);
    else if (key === 'v') badVersion = valueText;
    else if (target) pending.push({ problem: { key, message: `${quote(valueText)} is not valid percent-encoded UTF-8 (a malformed % escape or an unpaired surrogate)`, used: '' }, ...target });
    else early.push({ key, message: 'unknown key', used: 'ignored' });
  }

  // The version, then the migrations up to the current one.
  let version: number = SCHEMA_VERSION;
  const v = badVersion ?? raw.get('v');
  const readAs = `read as version ${SCHEMA_VERSION}`;
  // A link without `v` is hand-written (slides, a README); it is read as version 1, the version
  // whose keys it uses, without a problem. When version 2 exists this must stay 1, not become "latest".
  if (v === undefined) {
    version = 1;
  } else {
    const n = badVersion === null ? decimal(v) : null;
    if (n === null || !Number.isInteger(n) || n < 1) {
      early.push({ key: 'v', message: `${quote(v)} is not a schema version (an integer from 1); ${readAs}`, used: String(SCHEMA_VERSION) });
    } else if (n > SCHEMA_VERSION) {
      early.push({ key: 'v', message: `${n}: made by a newer initscope; ${readAs} as far as possible`, used: String(SCHEMA_VERSION) });
    } else version = n;
  }
  raw.delete('v');
  for (let from = version; from < SCHEMA_VERSION; from++) {
    const migrate = MIGRATIONS[from];
    if (migrate) raw = migrate(raw);
  }

  // Typed values of A and of B's overrides; range and combination checks are validateRun's.
  const rawA: Raw = {};
  const overrides: Raw = {};
  for (const [key, value] of raw) {
    const target = knownKey(key);
    if (!target && VIEW_KEYS.has(key)) {
      readViewKey(key, value, view, early);
      continue;
    }
    if (!target) {
      early.push({ key, message: 'unknown key', used: 'ignored' });
      continue;
    }
    const parsed = parserOf(BY_LINK.get(linkName(target.key))!)(value);
    if (parsed.ok) (target.side === 'a' ? rawA : overrides)[target.key] = parsed.value;
    else pending.push({ problem: { key, message: parsed.why, used: '' }, ...target });
  }

  const a = validateRun(rawA);
  const b = Object.keys(overrides).length > 0 ? resolveOverrides(a.config, overrides) : { config: a.config, problems: [] };
  const told = pending.map(({ problem, side, key }) => ({
    ...problem,
    used: formatValue(key, (side === 'a' ? a.config : b.config)[key]),
  }));

  const config: Config = { a: a.config, b: overridesOf(a.config, b.config) };
  return { config, problems: [...early, ...told, ...a.problems, ...b.problems], view };
}

function readViewKey(key: string, value: string, view: ViewFlags, problems: Problem[]): void {
  if (key === 'hide') {
    const names = value.split(',').filter((n) => n !== '');
    const bad = names.filter((n) => !(PANELS as readonly string[]).includes(n));
    if (bad.length) problems.push({ key, message: `${quote(bad.join(','))} names no panel (${PANELS.join(', ')})`, used: 'ignored' });
    view.hide = PANELS.filter((p) => names.includes(p));
    return;
  }
  const flag = parseFlag(value);
  if (flag === null) problems.push({ key, message: `${quote(value)} is not 1 or 0`, used: '0' });
  if (key === 'embed') view.embed = flag ?? false;
  else view.present = flag ?? false;
}

/** Which configuration and key a link key names: `depth` is A's depth, `b.depth` B's; else null. */
function knownKey(link: string): { side: 'a' | 'b'; key: Key } | null {
  const side = link.startsWith(B_PREFIX) ? 'b' : 'a';
  const entry = BY_LINK.get(side === 'b' ? link.slice(B_PREFIX.length) : link);
  return entry ? { side, key: entry.key } : null;
}

/** The comparison configuration B = {...a, ...b}, or null when there is none. */
export function resolveB(config: Config): RunConfig | null {
  if (!config.b) return null;
  const b: RunConfig = { ...config.a, ...config.b };
  return { ...b, input: [...b.input], widths: b.widths && [...b.widths] };
}

/** Percent-encodes a value, leaving `,` readable (encodeURIComponent already leaves `x . - _`). */
function encodeComponent(text: string): string {
  // A lone surrogate has no UTF-8 form; decode never yields one, but encode must not throw on it.
  const wellFormed = text.replace(new RegExp(LONE_SURROGATE_RE.source, 'g'), '\uFFFD');
  return encodeURIComponent(wellFormed).replace(/%2C/gi, ',');
}

function pair(link: string, key: Key, value: unknown): string {
  return `${link}=${encodeComponent(formatValue(key, value))}`;
}

/**
 * The canonical link of a configuration: `v=1`, every key of A in KEYS order (widths only when set,
 * so a later change of defaults cannot change an old link's meaning), then `b.<key>` for every key
 * of B, in KEYS order, that B changes or that the follow rules would otherwise change.
 */
export function encode(config: Config, view?: ViewFlags): string {
  const out = [`v=${SCHEMA_VERSION}`];
  const a = config.a;
  for (const { key, link } of KEYS) {
    if (key === 'widths' && a.widths === null) continue;
    out.push(pair(link, key, a[key]));
  }
  const b = resolveB(config);
  if (config.b && b) {
    const followed = followA(a, config.b);
    // What decode would give a key that is not stated: A's value, or what a follow rule makes of it.
    const implied = (key: Key): unknown => {
      if (key in followed) return followed[key];
      if (key === 'scale') return SCALE_DEFAULTS[b.init];
      if (key === 'input') return defaultInput(b.net);
      if (key === 'width') return defaultWidth(b.net);
      return b.widths ? b.widths.length : a[key];
    };
    for (const { key, link } of KEYS) {
      if (key in config.b || !sameValue(implied(key), b[key])) out.push(pair(B_PREFIX + link, key, b[key]));
    }
  }
  // View flags last, and only when set: they change how the page looks, never a number.
  if (view?.embed) out.push('embed=1');
  if (view?.hide.length) out.push(`hide=${view.hide.join(',')}`);
  if (view?.present) out.push('present=1');
  return out.join('&');
}

/** The canonical link of a single run: encode({a: run, b: null}). */
export function encodeRun(run: RunConfig): string {
  return encode({ a: run, b: null });
}

/** A problem as one line: `scale: "abc" is not a number; used 1`. */
export function describeProblem(p: Problem): string {
  const used = p.used === 'ignored' ? 'ignored' : `used ${p.used === '' ? '(none)' : p.used}`;
  return p.key === '' ? `${p.message}; ${used}` : `${p.key}: ${p.message}; ${used}`;
}
