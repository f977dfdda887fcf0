import { useMemo } from 'react';
import { configTheory } from '../engine/simulate';
import { formatNumber } from '../engine/report';
import { decode, resolveB } from '../link/codec';

/** The story of the first screen, as a link: Chainer HeNormal against wscale=sqrt(2) under the v1.9-v1.24 rule. */
const STORY = 'v=1&net=mlp&in=512&depth=30&width=512&act=relu&init=he_normal&b.init=wscale&b.scale=1.4142135623730951&b.chainer=1.9';

/** The page. A placeholder until the app's panels and charts land: it prints the theory of the story link. */
export function App() {
  const rows = useMemo(() => {
    const { config } = decode(STORY);
    const a = configTheory(config.a);
    const b = configTheory(resolveB(config)!);
    return a.map((t, i) => ({ layer: i + 1, he: t.preVariance, wscale: b[i].preVariance }));
  }, []);
  return (
    <main>
      <h1>initscope</h1>
      <p>
        A 30-layer ReLU MLP, width 512: Chainer&apos;s <code>initialW=HeNormal()</code> beside{' '}
        <code>wscale=math.sqrt(2)</code> under the v1.9-v1.24 rule, which gives 84% of He&apos;s standard deviation.
        When you write &quot;initialized with HeNormal&quot;, name the initializer explicitly.
      </p>
      <table>
        <caption>Pre-activation variance by layer (mean-field theory)</caption>
        <thead>
          <tr>
            <th scope="col">layer</th>
            <th scope="col">HeNormal()</th>
            <th scope="col">wscale=sqrt(2), v1.9-v1.24</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.layer}>
              <td>{r.layer}</td>
              <td>{formatNumber(r.he)}</td>
              <td>{formatNumber(r.wscale)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
