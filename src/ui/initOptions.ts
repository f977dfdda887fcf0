/** The initializers as users know them, grouped by framework; each option is a patch of the configuration. */
import type { RunConfig } from '../engine/schema';

/** One choice in the initializer menu. */
export interface InitOption {
  id: string;
  group: 'Chainer' | 'PyTorch' | 'Keras';
  label: string;
  patch: Partial<RunConfig>;
}

/** Every option; the first whose patch matches a configuration is the one shown for it. */
export const INIT_OPTIONS: InitOption[] = [
  { id: 'chainer-he-normal', group: 'Chainer', label: 'HeNormal(scale, fan_option)', patch: { init: 'he_normal', dist: 'normal', biasInit: 'normal' } },
  { id: 'chainer-wscale', group: 'Chainer', label: 'v1 link default with wscale', patch: { init: 'wscale', biasInit: 'normal' } },
  { id: 'chainer-he-uniform', group: 'Chainer', label: 'HeUniform(scale)', patch: { init: 'he_uniform', biasInit: 'normal' } },
  { id: 'chainer-lecun-normal', group: 'Chainer', label: 'LeCunNormal(scale)', patch: { init: 'lecun_normal', dist: 'normal', biasInit: 'normal' } },
  { id: 'chainer-lecun-uniform', group: 'Chainer', label: 'LeCunUniform(scale)', patch: { init: 'lecun_uniform', biasInit: 'normal' } },
  { id: 'chainer-glorot-normal', group: 'Chainer', label: 'GlorotNormal(scale)', patch: { init: 'glorot_normal', dist: 'normal', biasInit: 'normal' } },
  { id: 'chainer-glorot-uniform', group: 'Chainer', label: 'GlorotUniform(scale)', patch: { init: 'glorot_uniform', biasInit: 'normal' } },
  { id: 'chainer-normal', group: 'Chainer', label: 'Normal(scale): std = scale', patch: { init: 'normal', dist: 'normal', biasInit: 'normal' } },
  { id: 'chainer-uniform', group: 'Chainer', label: 'Uniform(scale): U[-scale, scale]', patch: { init: 'uniform', biasInit: 'normal' } },
  { id: 'chainer-orthogonal', group: 'Chainer', label: 'Orthogonal(scale)', patch: { init: 'orthogonal', biasInit: 'normal' } },
  { id: 'torch-kaiming-normal', group: 'PyTorch', label: 'kaiming_normal_', patch: { init: 'he_normal', dist: 'normal', biasInit: 'normal' } },
  { id: 'torch-kaiming-uniform', group: 'PyTorch', label: 'kaiming_uniform_', patch: { init: 'he_uniform', biasInit: 'normal' } },
  { id: 'torch-xavier-normal', group: 'PyTorch', label: 'xavier_normal_', patch: { init: 'glorot_normal', dist: 'normal', biasInit: 'normal' } },
  { id: 'torch-xavier-uniform', group: 'PyTorch', label: 'xavier_uniform_', patch: { init: 'glorot_uniform', biasInit: 'normal' } },
  { id: 'torch-default', group: 'PyTorch', label: 'nn.Linear / nn.Conv2d default', patch: { init: 'torch_default', biasInit: 'torch' } },
  { id: 'keras-he-normal', group: 'Keras', label: 'he_normal (truncated)', patch: { init: 'he_normal', dist: 'truncated', biasInit: 'normal' } },
  { id: 'keras-lecun-normal', group: 'Keras', label: 'lecun_normal (truncated)', patch: { init: 'lecun_normal', dist: 'truncated', biasInit: 'normal' } },
  { id: 'keras-glorot-normal', group: 'Keras', label: 'glorot_normal (truncated)', patch: { init: 'glorot_normal', dist: 'truncated', biasInit: 'normal' } },
  { id: 'keras-glorot-uniform', group: 'Keras', label: 'glorot_uniform (Dense/Conv default)', patch: { init: 'glorot_uniform', biasInit: 'normal' } },
];

/** True when every key of the option's patch has the configuration's value. */
export function matches(option: InitOption, c: RunConfig): boolean {
  return (Object.keys(option.patch) as (keyof RunConfig)[]).every((k) => option.patch[k] === c[k]);
}

/** The option to show for a configuration: `preferred` if it matches, else the first that matches. */
export function optionFor(c: RunConfig, preferred?: string | null): InitOption | undefined {
  const pick = INIT_OPTIONS.find((o) => o.id === preferred);
  if (pick && matches(pick, c)) return pick;
  return INIT_OPTIONS.find((o) => matches(o, c)) ?? INIT_OPTIONS.find((o) => o.patch.init === c.init);
}
