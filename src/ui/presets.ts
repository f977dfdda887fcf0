/** Teaching presets: each a link with two or three sentences shown beside the chart. */

/** One preset. */
export interface Preset {
  id: string;
  title: string;
  /** The share link (without '#'); A is the first configuration, B the comparison. */
  link: string;
  labelA: string;
  labelB: string;
  text: string;
}

/** The first screen: Chainer's HeNormal() against wscale=sqrt(2) under the v1.9-v1.24 rule. */
export const STORY: Preset = {
  id: 'story',
  title: 'HeNormal() or wscale=sqrt(2)?',
  link: 'v=1&net=mlp&in=512&depth=30&width=512&act=relu&init=he_normal&n=64&nets=4&b.init=wscale&b.scale=1.4142135623730951&b.chainer=1.9',
  labelA: 'initialW=HeNormal()',
  labelB: 'wscale=math.sqrt(2), Chainer v1.9-v1.24',
  text:
    'A 30-layer ReLU MLP (four networks pooled; the band is their spread). Chainer\'s initialW=HeNormal() draws std sqrt(2/fan_in) and holds the variance layer after layer. ' +
    'The same code written as L.Linear(n, m, wscale=math.sqrt(2)) meant He until v1.8.2, but from v1.9.0 to v1.24.0 wscale was silently square-rooted: 84% of He\'s std, and the signal fades by 0.707 per layer. ' +
    'When you write "initialized with HeNormal", name the initializer explicitly: initialW=chainer.initializers.HeNormal().',
};

/** All presets, in teaching order. */
export const PRESETS: Preset[] = [
  STORY,
  {
    id: 'relu-sqrt2',
    title: 'Why ReLU needs sqrt(2)',
    link: 'v=1&net=mlp&in=512&depth=30&width=512&act=relu&init=lecun_normal&n=64&nets=4&b.init=he_normal',
    labelA: 'LeCun normal, std sqrt(1/fan_in)',
    labelB: 'He normal, std sqrt(2/fan_in)',
    text:
      'ReLU zeroes half of its input, so E[relu(y)^2] = Var[y]/2. With LeCun\'s variance 1/fan_in each layer halves the signal: after 30 layers 2^-29 of it is left. ' +
      'He et al. (2015, eq. 10) double the weight variance to 2/fan_in, and the product (1/2) fan_in Var[w] = 1 keeps it steady.',
  },
  {
    id: 'wscale-trap',
    title: 'The wscale trap',
    link: 'v=1&net=mlp&in=512&depth=30&width=512&act=relu&init=wscale&scale=1.4142135623730951&chainer=1.8&n=64&nets=4&b.chainer=1.9',
    labelA: 'wscale=sqrt(2), Chainer <= v1.8.2',
    labelB: 'wscale=sqrt(2), Chainer v1.9-v1.24',
    text:
      'The same line of Chainer code under two releases. Up to v1.8.2 std = wscale/sqrt(fan_in), which for wscale=sqrt(2) is He. ' +
      'From v1.9.0 the link passed sqrt(wscale) to HeNormal(1/sqrt(2)): std = 2^(1/4)/sqrt(fan_in), variance sqrt(2)/fan_in, and every layer keeps only 0.707 of the signal.',
  },
  {
    id: 'glorot-tanh',
    title: 'Glorot and Bengio: tanh, standard against normalized initialization',
    link: 'v=1&net=mlp&in=1000&depth=5&width=1000&act=tanh&init=torch_default&b.init=glorot_uniform',
    labelA: 'standard U[-1/sqrt(n), 1/sqrt(n)]',
    labelB: 'normalized U[-sqrt(6/(n_in+n_out)), +]',
    text:
      'Glorot and Bengio (2010, Fig. 6) compared tanh networks under the "standard" initialization U[-1/sqrt(n), 1/sqrt(n)] (variance 1/(3n)) and their "normalized" one (variance 2/(n_in+n_out)). ' +
      'The standard one shrinks the activations layer by layer; the normalized one keeps their spread. Switch the view to post-activation to compare with their figure.',
  },
  {
    id: 'too-small-too-large',
    title: 'Too small, too large',
    link: 'v=1&net=mlp&in=512&depth=30&width=512&act=relu&init=normal&scale=0.01&b.scale=1',
    labelA: 'std 0.01',
    labelB: 'std 1.0',
    text:
      'A fixed std ignores the width. With std 0.01 each layer multiplies the variance by 512 x 1e-4 / 2 = 0.0256 and float32 underflows to exact zeros; ' +
      'with std 1.0 it multiplies by 256 and overflows to Inf within a few layers. Both are data here: look at the flags and the counts of zeros and non-finite values.',
  },
  {
    id: 'cnn-fan-in',
    title: 'CNN: fan-in is channels x k x k',
    link: 'v=1&net=cnn&in=3x32x32&depth=8&width=16&kernel=3&stride=1&pad=1&act=relu&init=he_normal&n=32&b.init=normal&b.scale=0.3535533905932738',
    labelA: 'He normal, fan_in = 16 x 3 x 3',
    labelB: 'std sqrt(2/16): the k x k forgotten',
    text:
      'A convolution sums over channels and the k x k window, so its fan_in is C x k x k = 144, not C = 16. Forget the window and the weights are 3 times too large: the variance grows 9-fold per layer. ' +
      'Zero padding makes the border positions see fewer inputs: the position map shows the corners at 4/9 of the interior in the first layer.',
  },
  {
    id: 'leaky-gain',
    title: 'Leaky ReLU needs its own gain',
    link: 'v=1&net=mlp&in=512&depth=30&width=512&act=leaky_relu&slope=0.3&init=he_normal&b.scale=0.9578262852211514',
    labelA: 'He normal for ReLU, gain sqrt(2)',
    labelB: 'gain sqrt(2/(1+a^2)), a = 0.3',
    text:
      'Leaky ReLU with slope a keeps (1+a^2)/2 of the variance, not 1/2 (He et al. 2015, PReLU). ReLU\'s gain sqrt(2) then grows the signal by 1.09 per layer, 13-fold over 30 layers. ' +
      'PyTorch\'s kaiming_normal_(a=0.3, nonlinearity="leaky_relu") uses gain sqrt(2/(1+a^2)), here scale 0.958 on HeNormal.',
  },
  {
    id: 'one-network',
    title: 'One network is not the average',
    link: 'v=1&net=mlp&in=256&depth=30&width=256&act=relu&init=he_normal&n=128&nets=1&b.nets=16',
    labelA: 'one network',
    labelB: '16 networks pooled',
    text:
      'Mean-field theory describes the average over random weights. One finite network sits somewhere around it: for a 30-layer ReLU MLP its last-layer variance can be 0.3x to 2.7x the average. ' +
      'With 16 networks the band shows the 10-90% range of the per-network variance, and the pooled points come back to the theory line.',
  },
];
