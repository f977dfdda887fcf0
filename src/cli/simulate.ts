/**
 * `npm run simulate -- '<link>' [--format json|table]`: runs a share link's configuration in Node
 * and prints the per-layer results. A bad link prints one line per problem and exits 2.
 */
import { decode, describeProblem, encodeRun, resolveB } from '../link/codec';
import { formatTable, runReport } from '../engine/report';
import { runAll } from '../engine/simulate';

const USAGE = `usage: npm run simulate -- '<link>' [--format json|table]
  <link>  a full URL, a '#...' hash or a bare 'key=value&...' string (an empty string runs the defaults)`;

/** Parses the arguments, runs the configuration(s) and returns the exit code. */
export function main(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  let format = 'json';
  let link: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      out(USAGE);
      return 0;
    }
    if (a === '--format' || a.startsWith('--format=')) {
      format = a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[++i] ?? '');
      if (format !== 'json' && format !== 'table') {
        err(`--format: "${format}" is not json or table`);
        return 2;
      }
    } else if (a.startsWith('--')) {
      err(`unknown option ${a}\n${USAGE}`);
      return 2;
    } else if (link === undefined) link = a;
    else {
      err(`one link only; got a second argument "${a}"\n${USAGE}`);
      return 2;
    }
  }
  if (link === undefined) {
    err(USAGE);
    return 2;
  }
  const { config, problems } = decode(link);
  if (problems.length) {
    for (const p of problems) err(describeProblem(p));
    return 2;
  }
  const runs = [{ label: 'A', run: config.a }];
  const b = resolveB(config);
  if (b) runs.push({ label: 'B', run: b });
  if (format === 'table') {
    out(runs.map(({ label, run }) => formatTable(label, encodeRun(run), runAll(run))).join('\n\n'));
  } else {
    out(JSON.stringify({ runs: runs.map(({ label, run }) => runReport(label, encodeRun(run), runAll(run))) }));
  }
  return 0;
}

// Run only as a command, not when imported by the tests.
if (process.argv[1] && /simulate\.[cm]?[jt]s$/.test(process.argv[1])) {
  let code: number;
  try {
    code = main(process.argv.slice(2), (s) => process.stdout.write(s + '\n'), (s) => process.stderr.write(s + '\n'));
  } catch (e) {
    process.stderr.write(`simulate failed: ${e instanceof Error ? e.message : String(e)}\n`);
    code = 1;
  }
  process.exitCode = code;
}
