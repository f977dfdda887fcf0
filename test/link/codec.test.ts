import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decode, defaultViewFlags, describeProblem, encode, encodeRun, resolveB, MAX_LINK_LENGTH, MIGRATIONS } from '../../src/link/codec';
import {
  ACTIVATIONS,
  BIAS_INITS,
  CHAINER_RULES,
  DATAS,
  DISTS,
  FANS,
  INITS,
  KEYS,
  LIMITS,
  SCHEMA_VERSION,
  defaultRun,
  validateRun,
  type Config,
  type Problem,
  type RunConfig,
} from '../../src/engine/schema';

/** Every property runs this many cases from this seed, so a failure is reproducible as printed. */
const RUNS = { numRuns: 2000, seed: 20260611 };

const run = (over: Partial<RunConfig> = {}): RunConfig => ({ ...defaultRun(), ...over });
const keysOf = (problems: Problem[]) => problems.map((p) => p.key);
const roundTrip = (c: Config) => {
  const { config, problems } = decode(encode(c));
  return { config, problems };
};

describe('round trip of hand-written configurations', () => {
  const cases: [string, Config][] = [
    ['the defaults', { a: run(), b: null }],
    ['an MLP with every numeric key changed', {
      a: run({ input: [784], depth: 7, width: 300, kernel: 5, stride: 2, pad: 0, slope: -0.3, scale: 1e-7, bias: -2.5, biasStd: 0.125, n: 3, nets: 4 }),
      b: null,
    }],
    ['per-layer widths', { a: run({ widths: [300, 100, 10], depth: 3 }), b: null }],
    ['a CNN input', { a: run({ net: 'cnn', input: [3, 32, 32], width: 16, depth: 5, kernel: 5, stride: 2, pad: 2 }), b: null }],
    ['a CNN with per-layer widths', { a: run({ net: 'cnn', input: [1, 28, 28], widths: [8, 16], depth: 2 }), b: null }],
    ...ACTIVATIONS.map((act): [string, Config] => [`act=${act}`, { a: run({ act, depth: 3 }), b: null }]),
    ...INITS.map((init): [string, Config] => [`init=${init}`, { a: run({ init, scale: 0.7, depth: 3 }), b: null }]),
    ...FANS.map((fan): [string, Config] => [`fan=${fan}`, { a: run({ fan }), b: null }]),
    ...DISTS.map((dist): [string, Config] => [`dist=${dist}`, { a: run({ dist }), b: null }]),
    ...CHAINER_RULES.map((chainer): [string, Config] => [`chainer=${chainer}`, { a: run({ init: 'wscale', chainer }), b: null }]),
    ...BIAS_INITS.map((biasInit): [string, Config] => [`bias_init=${biasInit}`, { a: run({ biasInit }), b: null }]),
    ...DATAS.map((data): [string, Config] => [`data=${data}`, { a: run({ data }), b: null }]),
    ['a seed with & = # % + spaces and unicode', { a: run({ seed: 'a&b=c#d%e+f g,h.x-_ é 😀 日本 %41 \n' }), b: null }],
    ['a seed that looks like a link', { a: run({ seed: 'v=2&depth=abc' }), b: null }],
    ['B changing the init (scale follows)', { a: run(), b: { init: 'normal', scale: 0.05 } }],
    ['B changing the init but not the scale', { a: run(), b: { init: 'normal' } }],
    ['B changing the init with A at a custom scale', { a: run({ scale: 2 }), b: { init: 'orthogonal' } }],
    ['B changing the net and the input', { a: run(), b: { net: 'cnn', input: [3, 16, 16], width: 8, depth: 3 } }],
    ['B changing the net, keeping a CNN default input', { a: run(), b: { net: 'cnn', input: [3, 32, 32], width: 8, depth: 3 } }],
    ['B with widths', { a: run({ depth: 3 }), b: { widths: [4, 4], depth: 2 } }],
    ["B dropping A's widths", { a: run({ widths: [8, 8, 8], depth: 3 }), b: { widths: null } }],
    ['B changing every other key', {
      a: run({ depth: 4, width: 32 }),
      b: {
        depth: 5, width: 64, kernel: 1, stride: 3, pad: 4, act: 'leaky_relu', slope: 0.2, init: 'lecun_normal', scale: 3,
        fan: 'out', dist: 'truncated', chainer: '1.8', bias: 1, biasStd: 2, biasInit: 'torch', data: 'uniform', n: 100,
        nets: 2, seed: 'b & é',
      },
    }],
  ];

  it.each(cases)('%s', (_, config) => {
    const { config: back, problems } = roundTrip(config);
    expect(problems).toEqual([]);
    expect(back).toEqual(config);
  });

  it('reads -0 as 0, so the configuration survives a round trip', () => {
    const c = decode('v=1&bias=-0&slope=-0.0&scale=-0e3&b.bias=-0&b.act=tanh').config;
    expect(Object.is(c.a.bias, 0) && Object.is(c.a.slope, 0) && Object.is(c.a.scale, 0)).toBe(true);
    expect(c.b).toEqual({ act: 'tanh' });
    expect(roundTrip(c)).toEqual({ config: c, problems: [] });
  });

  it('keeps an explicit b.scale when the follow rule would change it', () => {
    // A's scale is he_normal's default; without b.scale, b.init=normal would read as scale 0.05.
    const link = encode({ a: run(), b: { init: 'normal' } });
    expect(link).toContain('&b.init=normal&b.scale=1');
  });

  it('writes the canonical form: every key in KEYS order, readable x and commas, percent-encoded seed', () => {
    const a = run({ net: 'cnn', input: [3, 32, 32], widths: [8, 16], depth: 2, seed: 'a b&c=d#é' });
    expect(encode({ a, b: { act: 'tanh' } })).toBe(
      'v=1&net=cnn&in=3x32x32&depth=2&width=512&widths=8,16&kernel=3&stride=1&pad=1&act=relu&slope=0.01' +
        '&init=he_normal&scale=1&fan=in&dist=normal&chainer=1.9&bias=0&bias_std=0&bias_init=normal&data=normal' +
        '&n=256&nets=1&seed=a%20b%26c%3Dd%23%C3%A9&b.act=tanh',
    );
    expect(encodeRun(a)).toBe(encode({ a, b: null }));
  });

  it('writes every KEYS key of A, so later default changes cannot change an old link', () => {
    const link = encodeRun(run({ widths: [5], depth: 1 }));
    const names = link.split('&').map((p) => p.split('=')[0]);
    expect(names).toEqual(['v', ...KEYS.map((k) => k.link)]);
  });

  it('resolves B as A with the overrides', () => {
    const a = run({ depth: 4 });
    expect(resolveB({ a, b: null })).toBeNull();
    const b = resolveB({ a, b: { act: 'tanh', widths: [2, 2] } })!;
    expect(b).toEqual({ ...a, act: 'tanh', widths: [2, 2] });
    b.input.push(1);
    expect(a.input).toEqual([512]);
  });

  it('has no migrations while v1 is the only version', () => {
    expect(SCHEMA_VERSION).toBe(1);
    expect(Object.keys(MIGRATIONS)).toEqual([]);
  });
});

describe('problems name the key and the value used; the rest of the link applies', () => {
  /** Decodes `v=1&width=64&<part>` and checks width=64 still applied. */
  const withBad = (part: string) => {
    const result = decode(`v=1&width=64&${part}&act=tanh`);
    expect(result.config.a.width).toBe(64);
    expect(result.config.a.act).toBe('tanh');
    return result;
  };

  it.each([
    ['depth=abc', 'depth', '30'],
    ['depth=', 'depth', '30'],
    ['depth', 'depth', '30'],
    ['depth=0', 'depth', '30'],
    ['depth=1e9', 'depth', '30'],
    ['depth=2.5', 'depth', '30'],
    ['depth=0x10', 'depth', '30'],
    ['depth=NaN', 'depth', '30'],
    ['depth=Infinity', 'depth', '30'],
    ['depth=1e400', 'depth', '30'],
    ['depth=%2030', 'depth', '30'],
    ['slope=11', 'slope', '0.01'],
    ['scale=abc', 'scale', '1'],
    ['scale=-1', 'scale', '1'],
    ['scale=sqrt(-2)', 'scale', '1'],
    ['scale=1/sqrt(0)', 'scale', '1'],
    ['scale=sqrt(2', 'scale', '1'],
    ['init=Kaiming', 'init', 'he_normal'],
    ['in=3x32x32', 'in', '512'],
    ['in=5x', 'in', '512'],
    ['widths=1,,2', 'widths', ''],
    ['widths=1,0,2', 'widths', ''],
    [`seed=${'s'.repeat(LIMITS.seedLength.max + 1)}`, 'seed', 'initscope'],
    ['seed=', 'seed', 'initscope'],
    ['seed=%E0%A4%A', 'seed', 'initscope'],
    ['seed=%ZZ', 'seed', 'initscope'],
    ['seed=%ED%A0%80', 'seed', 'initscope'],
    ['seed=a\uD800b', 'seed', 'initscope'],
    ['fan=both', 'fan', 'in'],
    ['dist=truncated&init=orthogonal', 'dist', 'normal'],
    ['chainer=1.10', 'chainer', '1.9'],
    ['bias_init=zeros', 'bias_init', 'normal'],
    ['data=cauchy', 'data', 'normal'],
    ['n=1', 'n', '256'],
    ['nets=0', 'nets', '1'],
    ['kernel=16', 'kernel', '3'],
    ['stride=9', 'stride', '1'],
    ['pad=-1', 'pad', '1'],
    ['bias_std=-1', 'bias_std', '0'],
  ])('%s', (part, key, used) => {
    const { problems } = withBad(part);
    expect(problems).toEqual([expect.objectContaining({ key, used })]);
  });

  it('act=relux is reported, and the default activation used', () => {
    const { config, problems } = decode('v=1&act=relux&depth=3');
    expect(config.a.act).toBe('relu');
    expect(config.a.depth).toBe(3);
    expect(problems).toEqual([expect.objectContaining({ key: 'act', used: 'relu' })]);
    expect(problems[0].message).toContain('relux');
  });

  it('in=3x32 for a CNN is reported by key, with the default CNN input used', () => {
    const { config, problems } = decode('v=1&net=cnn&in=3x32&width=8&depth=2');
    expect(config.a.input).toEqual([3, 32, 32]);
    expect(problems).toEqual([expect.objectContaining({ key: 'in', used: '3x32x32' })]);
  });

  it('reports an unknown key and ignores it', () => {
    const { config, problems } = decode('v=1&depht=3&width=64');
    expect(config.a).toEqual(run({ width: 64 }));
    expect(problems).toEqual([{ key: 'depht', message: 'unknown key', used: 'ignored' }]);
  });

  it.each(['b.v=1', 'b.b.depth=3', 'b.=1', 'B.depth=3', 'Depth=3'])('reports %s as an unknown key', (part) => {
    const { config, problems } = decode(`v=1&${part}`);
    expect(config).toEqual({ a: run(), b: null });
    expect(problems).toEqual([{ key: part.split('=')[0], message: 'unknown key', used: 'ignored' }]);
  });

  it('reports a duplicate key; the first wins', () => {
    const { config, problems } = decode('v=1&depth=5&depth=6&b.act=tanh&b.act=elu');
    expect(config.a.depth).toBe(5);
    expect(config.b).toEqual({ act: 'tanh' });
    expect(keysOf(problems)).toEqual(['depth', 'b.act']);
  });

  it('reads v=2 as far as possible, reporting it', () => {
    const { config, problems } = decode('v=2&depth=5');
    expect(config.a.depth).toBe(5);
    expect(problems).toEqual([expect.objectContaining({ key: 'v', used: '1' })]);
    expect(problems[0].message).toContain('newer initscope');
  });

  it('reads a link without v as version 1, silently (hand-written links)', () => {
    const { config, problems } = decode('depth=5');
    expect(config.a.depth).toBe(5);
    expect(problems).toEqual([]);
  });

  it.each(['v=0&depth=5', 'v=1.5&depth=5', 'v=abc&depth=5', 'v=&depth=5', 'v=%E0&depth=5'])(
    'reports a bad version in %s and reads the link as v1',
    (link) => {
      const { config, problems } = decode(link);
      expect(config.a.depth).toBe(5);
      expect(problems).toEqual([expect.objectContaining({ key: 'v', used: '1' })]);
    },
  );

  it('reads an empty link as the defaults without problems', () => {
    for (const text of ['', '  ', '#', '&&', 'https://example.org/initscope/', 'https://example.org/initscope/#']) {
      const { config, problems, view } = decode(text);
      expect({ config, problems }).toEqual({ config: { a: run(), b: null }, problems: [] });
      expect(view).toEqual(defaultViewFlags());
    }
  });

  it('reports a malformed percent escape in a key', () => {
    const { config, problems } = decode('v=1&dep%E0%A4%Ath=3&width=64');
    expect(config.a.width).toBe(64);
    expect(problems).toEqual([expect.objectContaining({ key: 'dep%E0%A4%Ath', used: 'ignored' })]);
  });

  it('reports b.depth=-1 as b.depth, and B keeps A\'s depth', () => {
    const { config, problems } = decode('v=1&depth=7&b.depth=-1&b.act=tanh');
    expect(config.b).toEqual({ act: 'tanh' });
    expect(problems).toEqual([expect.objectContaining({ key: 'b.depth', used: '7' })]);
  });

  it("reports a bad B value that does not parse, and B keeps A's value", () => {
    const { config, problems } = decode('v=1&act=tanh&b.act=relu&b.width=wide');
    expect(config.b).toEqual({ act: 'relu' });
    expect(problems).toEqual([expect.objectContaining({ key: 'b.width', used: '512' })]);
  });

  it("reports an enum B value that validateRun rejects, and B keeps A's value, not the global default", () => {
    const { config, problems } = decode('v=1&act=tanh&b.act=relux&b.depth=3');
    expect(config.b).toEqual({ depth: 3 });
    expect(problems).toEqual([expect.objectContaining({ key: 'b.act', used: 'tanh' })]);
  });

  it('reports a B problem caused by another override under its own b. key', () => {
    const { config, problems } = decode('v=1&width=1000&depth=3&b.net=cnn');
    // 1000 units is fine for an MLP but not as CNN channels.
    expect(config.a.width).toBe(1000);
    expect(keysOf(problems)).toContain('b.width');
    expect(keysOf(problems).every((k) => k.startsWith('b.'))).toBe(true);
  });

  it('drops a B that ends up equal to A', () => {
    expect(decode('v=1&init=lecun_normal&b.init=lecun_normal').config.b).toBeNull();
    expect(decode('v=1&b.depth=abc').config.b).toBeNull();
  });

  it('reads only the first 8192 characters of an over-long link, dropping the part cut in two', () => {
    const head = 'v=1&depth=5&';
    const filler = 'x=1&'.repeat(3000);
    const { config, problems } = decode(`${head}seed=${'s'.repeat(40)}&${filler}&width=64`);
    expect(config.a.depth).toBe(5);
    expect(config.a.width).toBe(512);
    expect(problems[0].key).toBe('');
    expect(problems[0].message).toContain(String(MAX_LINK_LENGTH));

    const cut = decode(`v=1&width=64&seed=${'s'.repeat(MAX_LINK_LENGTH)}`);
    expect(cut.config.a.width).toBe(64);
    expect(cut.config.a.seed).toBe('initscope');
    expect(keysOf(cut.problems)).toEqual(['']);
  });

  it('reads the classroom flags embed, hide and present beside the configuration', () => {
    const { config, problems, view } = decode('v=1&depth=4&embed=1&hide=init,data,nope&present=1');
    expect(config.a.depth).toBe(4);
    expect(view).toEqual({ embed: true, hide: ['init', 'data'], present: true });
    expect(problems).toEqual([expect.objectContaining({ key: 'hide', used: 'ignored' })]);
    expect(encode(config, view)).toMatch(/&embed=1&hide=init,data&present=1$/);
    expect(decode(encode(config, view)).view).toEqual(view);
    expect(decode('embed=yes').problems[0].key).toBe('embed');
    // They are not configuration keys: no effect on encode without them, unknown under b.
    expect(encode(config)).not.toContain('embed');
    expect(decode('b.embed=1').problems[0].message).toBe('unknown key');
  });

  it('describes problems in one line', () => {
    expect(describeProblem({ key: 'scale', message: '"abc" is not a number', used: '1' })).toBe('scale: "abc" is not a number; used 1');
    expect(describeProblem({ key: 'foo', message: 'unknown key', used: 'ignored' })).toBe('foo: unknown key; ignored');
    expect(describeProblem({ key: 'widths', message: 'bad', used: '' })).toBe('widths: bad; used (none)');
    const [p] = decode('v=1&scale=abc').problems;
    expect(describeProblem(p)).toBe('scale: "abc" is not a number, sqrt(X), X/sqrt(Y) or sqrt(X)/Y; used 1');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/** A configuration decode could return: valid, with B's keys all different from A's. */
function expectValid(config: Config) {
  const a = validateRun(config.a);
  expect(a.problems).toEqual([]);
  expect(a.config).toEqual(config.a);
  const b = resolveB(config);
  if (config.b === null) return;
  expect(Object.keys(config.b).length).toBeGreaterThan(0);
  const vb = validateRun(b!);
  expect(vb.problems).toEqual([]);
  expect(vb.config).toEqual(b);
  for (const [k, v] of Object.entries(config.b)) expect(v).not.toEqual(config.a[k as keyof RunConfig]);
}

const LINK_NAMES = KEYS.map((k) => k.link);
const junk = fc.string({ unit: 'binary', maxLength: 6 });
const fragmentKey = fc.oneof(
  fc.constantFrom(...LINK_NAMES, 'v'),
  fc.constantFrom(...LINK_NAMES, 'v').map((k) => `b.${k}`),
  fc.constantFrom('b.b.init', 'b.', 'B.depth', '', '%', '%E0%A4%A', '%62.depth'),
  junk,
);
const fragmentValue = fc.oneof(
  fc.constantFrom(...ACTIVATIONS, ...INITS, ...FANS, ...DISTS, ...CHAINER_RULES, ...BIAS_INITS, ...DATAS, 'mlp', 'cnn'),
  fc.integer({ min: -5, max: 300 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom('sqrt(2)', '1/sqrt(2)', 'sqrt(2)/2', 'sqrt(', '3x32x32', '1x8x8', '3X16x16', '512', '8,16', '1,,2', ','),
  fc.constantFrom('', '%', '%E0%A4%A', '%ED%A0%80', 'a\uD800', '\uDC00b', '\uD83D\uDE00', '%F0%9F%98%80', '+', '1e400', '-0', '.5', '5.', '0x10', 'NaN'),
  junk,
);
const fragment = fc.tuple(fragmentKey, fc.constantFrom('=', '=', '=', '', '=='), fragmentValue).map(([k, eq, v]) => k + eq + v);
const linkish = fc
  .tuple(fc.constantFrom('', '#', '?', 'https://x.org/a/#', 'https://x.org/a/?', ' '), fc.array(fragment, { maxLength: 14 }), fc.constantFrom('&', '&&', '&', '&'))
  .map(([prefix, parts, sep]) => prefix + parts.join(sep));
const loneSurrogates = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });

describe('decode never throws and always yields a valid configuration', () => {
  it.each([
    ['fc.string (ASCII)', fc.string({ maxLength: 60 })],
    ['full Unicode strings', fc.string({ unit: 'binary', maxLength: 60 })],
    ['UTF-16 with lone surrogates', loneSurrogates],
    ['key=value fragments with junk', linkish],
  ])('%s', (_, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (text) => {
        const { config, problems } = decode(text);
        expectValid(config);
        expect(roundTrip(config)).toEqual({ config, problems: [] });
        for (const p of problems) {
          expect(typeof p.key).toBe('string');
          expect(typeof p.message).toBe('string');
          expect(typeof p.used).toBe('string');
        }
      }),
      RUNS,
    );
  });
});

/** Numbers without -0: the link writes -0 as `0`, so validateRun's -0 is not a link value. */
const noNegativeZero = (x: number) => (x === 0 ? 0 : x);
const double = (min: number, max: number) => fc.double({ min, max, noNaN: true }).map(noNegativeZero);
const seed = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('&', '=', '#', '%', '+', ' ', 'x', ',', '.', 'é', '😀', '%41', 'a'), minLength: 1, maxLength: 12 }),
);
/** Raw runs small enough that most stay within the cost limits; validateRun settles the rest. */
const rawRun = fc.record(
  {
    net: fc.constantFrom('mlp', 'cnn'),
    input: fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 300 })).map((t) => [...t]),
      fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 16 })).map((t) => [...t]),
    ),
    depth: fc.integer({ min: 1, max: 12 }),
    width: fc.integer({ min: 1, max: 64 }),
    widths: fc.option(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 })),
    kernel: fc.integer({ min: 1, max: 7 }),
    stride: fc.integer({ min: 1, max: 3 }),
    pad: fc.integer({ min: 0, max: 3 }),
    act: fc.constantFrom(...ACTIVATIONS),
    slope: double(LIMITS.slope.min, LIMITS.slope.max),
    init: fc.constantFrom(...INITS),
    scale: double(LIMITS.scale.min, LIMITS.scale.max),
    fan: fc.constantFrom(...FANS),
    dist: fc.constantFrom(...DISTS),
    chainer: fc.constantFrom(...CHAINER_RULES),
    bias: double(LIMITS.bias.min, LIMITS.bias.max),
    biasStd: double(LIMITS.biasStd.min, LIMITS.biasStd.max),
    biasInit: fc.constantFrom(...BIAS_INITS),
    data: fc.constantFrom(...DATAS),
    n: fc.integer({ min: 2, max: 512 }),
    nets: fc.integer({ min: 1, max: 4 }),
    seed,
  },
  { requiredKeys: [] },
);
const validRun = rawRun.map((raw) => validateRun(raw).config);
/** B overrides: a few keys of another random run. */
const overrides = fc
  .tuple(rawRun, fc.subarray(KEYS.map((k) => k.key), { maxLength: 5 }))
  .map(([raw, keys]) => Object.fromEntries(keys.filter((k) => k in raw).map((k) => [k, raw[k]])) as Partial<RunConfig>);

describe('encode and decode are inverse', () => {
  it('decode(encodeRun(a)) is a for a valid run', () => {
    fc.assert(
      fc.property(validRun, (a) => {
        const { config, problems } = decode(encodeRun(a));
        expect(problems).toEqual([]);
        expect(config).toEqual({ a, b: null });
      }),
      RUNS,
    );
  });

  it('decode(encode(c)) is c for a configuration with B overrides normalized by decode', () => {
    let withB = 0;
    fc.assert(
      fc.property(validRun, overrides, (a, b) => {
        const c = decode(encode({ a, b: Object.keys(b).length ? b : null })).config;
        if (c.b) withB++;
        const { config, problems } = roundTrip(c);
        expect(problems).toEqual([]);
        expect(config).toEqual(c);
      }),
      RUNS,
    );
    // The property is about B: most cases must have one.
    expect(withB).toBeGreaterThan(RUNS.numRuns / 2);
  });

  it('encode(decode(s)) is a fixed point for arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(linkish, fc.string({ unit: 'binary', maxLength: 40 })), (text) => {
        const once = encode(decode(text).config);
        const again = decode(once);
        expect(again.problems).toEqual([]);
        expect(encode(again.config)).toBe(once);
      }),
      RUNS,
    );
  });
});
