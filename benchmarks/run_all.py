"""Run every sslmem benchmark and write benchmarks/RESULTS.md.

Each benchmark runs in its own process (`python benchmarks/<name>.py [--quick] --json <file>`), in turn; its
table streams to the terminal and its log is kept in benchmarks/out/<name>.log. The rows they return are written to
benchmarks/RESULTS.md: a table per benchmark (case, measure, measured value, target, met or missed, details) with the
exact command that produced it, and a section on the machine (CPU model, cores, torch version and threads,
OMP_NUM_THREADS, GPU or "no GPU", load average). The hand-written analysis in benchmarks/NOTES.md (what bounds the
targets that are missed or were, from profiles) is appended.

Threads: the benchmarks use what the machine gives unless OMP_NUM_THREADS is set; it is recorded.
Usage: `python benchmarks/run_all.py [--quick] [--only scoring,augment] [--out benchmarks/RESULTS.md]`
(`make bench` runs the full sizes).
"""
import argparse, datetime, json, os, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine, fmt_value, fmt_met  # noqa: E402

BENCHMARKS = ('scoring', 'layermem', 'unitmem', 'augment', 'training', 'gpu')
TITLES = dict(scoring='1. Scoring: `memorization_scores` vs the reference loop',
              layermem='2. LayerMem: every layer from one pass vs a pass per layer',
              unitmem='2b. UnitMem: peak memory and time on 10,000 images x 10 views',
              augment='3. Augmentation: batched `SimCLRViews` vs per-image torchvision on PIL',
              training='4. Training: `train_encoder` (Lightning) vs a bare loop; images/s per method',
              gpu='5. GPU: SimCLR training and scoring throughput')


def run(name:str, extra:list, out_dir:Path)->dict:
    "Run one benchmark in its own process; its JSON result, or a record of its failure."
    json_path, log_path = out_dir/f'{name}.json', out_dir/f'{name}.log'
    json_path.unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE/f'{name}.py'), *extra, '--json', str(json_path)]
    print(f'\n>>> {name}: {" ".join(cmd)}', flush=True)
    start = time.time()
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE.parent)
        lines = []
        for line in proc.stdout:
            sys.stdout.write(line); log.write(line); lines.append(line)
        code = proc.wait()
    seconds = time.time() - start
    if code == 0 and json_path.exists():
        return dict(json.loads(json_path.read_text()), seconds=seconds, ok=True)
    omp = os.environ.get('OMP_NUM_THREADS')
    command = (f'OMP_NUM_THREADS={omp} ' if omp else '') + f'python benchmarks/{name}.py ' + ' '.join(extra)
    return dict(ok=False, code=code, seconds=seconds, command=command.strip(), tail=''.join(lines[-25:]))


def md_escape(s)->str: return str(s).replace('|', '\\|').replace('\n', ' ')


def section(name:str, result:dict)->list:
    "The markdown of one benchmark: its command, then its table (or the failure)."
    lines = [f'## {TITLES.get(name, name)}', '']
    if not result['ok']:
        lines += [f"**Failed** (exit code {result['code']}) after {result['seconds']:.0f} s: `{result['command']}`", '',
                  '```', result['tail'].rstrip(), '```', '']
        return lines
    lines += [f"Command: `{result['command']}` ({result['seconds']:.0f} s; load average at its end "
              f"{result['machine']['load_average']}; torch threads {result['machine']['torch_threads']})", '',
              '| case | measure | measured | target | met | details |', '|---|---|---|---|---|---|']
    for r in result['rows']:
        lines.append('| ' + ' | '.join(md_escape(x) for x in (r['case'], r['measure'], fmt_value(r), r['target'] or '-',
                                                             fmt_met(r['met']), r['detail'] or '')) + ' |')
    return lines + ['']


def write_results(results:dict, args, started:str, load_before:str, path:Path):
    info = machine()
    quick = args.quick
    omp = os.environ.get('OMP_NUM_THREADS')
    command = (f'OMP_NUM_THREADS={omp} ' if omp else '') + 'python benchmarks/run_all.py' + (' --quick' if quick else '') + \
              (f' --only {args.only}' if args.only else '')
    lines = ['# sslmem benchmarks: results', '']
    if quick:
        lines += ['> **Quick / smoke figures** (`--quick`: small sizes, few repetitions), taken on a shared, loaded machine '
                  f'(load average {load_before} at the start on {info["usable_cores"]} cores). They show that the benchmarks '
                  'run and roughly where sslmem stands; they are not the final measurements. Run `make bench` '
                  '(full sizes) on a quiet machine for those.', '']
    if args.note: lines += [f'> {args.note}', '']
    lines += [f'Written by `{command}` on {started}. Every comparison is measured side by side in one process '
              '(interleaved repetitions after warm-up; medians and their ratio); no test depends on these figures.', '',
              '## Machine', '',
              f"- CPU: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable)",
              f"- torch {info['torch']}, {info['torch_threads']} threads (OMP_NUM_THREADS={info['OMP_NUM_THREADS']}), Python {info['python']}",
              f"- GPU: {info['gpu']}",
              f"- load average (1, 5, 15 min): {load_before} at the start, {info['load_average']} at the end", '']
    summary = [(n, r) for n, res in results.items() if res['ok'] for r in res['rows'] if r['target']]
    if summary:
        lines += ['## Targets at a glance', '', '| benchmark | case | measure | measured | target | met |', '|---|---|---|---|---|---|']
        lines += ['| ' + ' | '.join(md_escape(x) for x in (n, r['case'], r['measure'], fmt_value(r), r['target'], fmt_met(r['met']))) + ' |'
                  for n, r in summary]
        lines.append('')
    for name, result in results.items(): lines += section(name, result)
    notes = HERE/'NOTES.md'
    if notes.exists(): lines += ['---', '', notes.read_text().rstrip(), '']
    path.write_text('\n'.join(lines))
    print(f'\nwrote {path}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true', help='pass --quick to every benchmark (a smoke run)')
    p.add_argument('--only', default='', help=f'comma-separated subset of {",".join(BENCHMARKS)}')
    p.add_argument('--out', default=str(HERE/'RESULTS.md'), help='where to write the results')
    p.add_argument('--note', default='', help='a line to put at the top of the results')
    args = p.parse_args(argv)
    names = [n for n in (args.only.split(',') if args.only else BENCHMARKS) if n]
    unknown = set(names) - set(BENCHMARKS)
    if unknown: p.error(f'unknown benchmarks {sorted(unknown)}; choose from {BENCHMARKS}')
    out_dir = HERE/'out'; out_dir.mkdir(exist_ok=True)
    started = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    load_before = machine()['load_average']
    results = {name: run(name, ['--quick'] if args.quick else [], out_dir) for name in names}
    write_results(results, args, started, load_before, Path(args.out))
    failed = [n for n, r in results.items() if not r['ok']]
    if failed: print(f'failed: {", ".join(failed)}'); return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
