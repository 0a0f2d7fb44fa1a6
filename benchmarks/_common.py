"""Shared helpers of the sslmem benchmarks: interleaved timing, target checks, tables, the machine, rows as JSON.

Every benchmark times the things it compares side by side in one process: after warm-up, the candidates
run in turn (A B A B ...), so a machine that slows down or speeds up during the run affects all of them
alike; each candidate's median is reported, with the ratio of the medians. Nothing here asserts a time.
"""
import argparse, json, os, platform, shlex, statistics, sys, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))  # import sslmem from this checkout


def cpu_model()->str:
    "The CPU's model name from /proc/cpuinfo (or the platform's description)."
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def machine()->dict:
    "What the figures depend on: CPU, cores, threads, torch, GPU, and how loaded the machine was."
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else cores
    return dict(cpu=cpu_model(), cores=cores, usable_cores=usable, torch=torch.__version__,
                torch_threads=torch.get_num_threads(), OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', 'unset'),
                gpu=gpu, python=platform.python_version(),
                load_average=' '.join(f'{x:.2f}' for x in os.getloadavg()) if hasattr(os, 'getloadavg') else 'n/a')


def command()->str:
    "The exact command that ran this script, with the thread setting that shaped its figures."
    omp = os.environ.get('OMP_NUM_THREADS')
    argv = ['python', os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]
    argv = [a for i, a in enumerate(argv) if a != '--json' and (i == 0 or argv[i - 1] != '--json')]
    return (f'OMP_NUM_THREADS={omp} ' if omp else '') + shlex.join(argv)


def synchronize():
    if torch.cuda.is_available(): torch.cuda.synchronize()


def interleaved(fns:dict, # {name: callable}: the things compared, each one repetition of the work
                reps:int=5, # timed repetitions of each
                warmup:int=1, # untimed repetitions of each first
                sync=synchronize, # called around each timed call (CUDA work is asynchronous)
               )->dict: # {name: [seconds of each repetition]}
    "Time the callables interleaved, A B A B ..., after warm-up; each call is one repetition."
    for _ in range(warmup):
        for fn in fns.values(): fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            sync(); start = time.perf_counter()
            fn()
            sync(); times[name].append(time.perf_counter() - start)
    return times


def median(xs): return statistics.median(xs)


def spread(xs)->str:
    "Median with the range, e.g. '1.23 s [1.20-1.31]'."
    return f'{median(xs):.4g} s [{min(xs):.3g}-{max(xs):.3g}, n={len(xs)}]'


def check(value:float, target:str)->bool|None:
    "Whether `value` meets a target written '>= 2.5' or '<= 1.3' (None when there is no target)."
    if not target: return None
    op, threshold = target.split()
    return value >= float(threshold) if op == '>=' else value <= float(threshold)


def row(benchmark:str, case:str, measure:str, value, target:str='', detail:str='', unit:str='x')->dict:
    "One result: what was measured, its value, the target and whether it is met."
    met = check(value, target) if isinstance(value, (int, float)) else None
    return dict(benchmark=benchmark, case=case, measure=measure, value=value, unit=unit, target=target, met=met, detail=detail)


def not_measured(benchmark:str, case:str, measure:str, why:str, target:str='')->dict:
    "A row for a figure this machine cannot give (e.g. a GPU figure on a CPU-only machine)."
    return dict(benchmark=benchmark, case=case, measure=measure, value=f'not measured: {why}', unit='', target=target,
                met=None, detail='')


def fmt_value(r:dict)->str:
    v = r['value']
    if not isinstance(v, (int, float)): return str(v)
    if r['unit'] == 'images/s': return f"{v:,.0f} images/s" if v >= 100 else f"{v:.3g} images/s"
    return f"{v:.3g}{r['unit']}"


def fmt_met(met)->str: return {True: 'met', False: 'MISSED', None: '-'}[met]


def print_table(rows:list):
    "The rows as a plain-text table on stdout."
    cols = [('case', lambda r: r['case']), ('measure', lambda r: r['measure']), ('value', fmt_value),
            ('target', lambda r: r['target'] or '-'), ('met', lambda r: fmt_met(r['met']))]
    cells = [[c[0] for c in cols]] + [[str(get(r)) for _, get in cols] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    for i, line in enumerate(cells):
        print('  '.join(c.ljust(w) for c, w in zip(line, widths)))
        if i == 0: print('  '.join('-' * w for w in widths))
    for r in rows:
        if r['detail']: print(f"  {r['case']} / {r['measure']}: {r['detail']}")
    sys.stdout.flush()


def parser(description:str)->argparse.ArgumentParser:
    "The flags every benchmark takes: --quick, --reps, --warmup, --json."
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true', help='small sizes and few repetitions: a smoke run')
    p.add_argument('--reps', type=int, default=None, help='timed repetitions of each candidate')
    p.add_argument('--warmup', type=int, default=1, help='untimed repetitions of each candidate first')
    p.add_argument('--json', default=None, help='also write the rows, machine and command to this JSON file')
    return p


def finish(rows:list, args, title:str)->list:
    "Print the table and the machine; write the JSON the runner collects; return the rows."
    print(f'\n== {title} ==')
    print_table(rows)
    info = machine()
    print('machine: ' + ', '.join(f'{k}={v}' for k, v in info.items()))
    print('command: ' + command())
    if args.json:
        Path(args.json).write_text(json.dumps(dict(title=title, rows=rows, machine=info, command=command(),
                                                   quick=bool(args.quick)), indent=1, default=str))
    return rows


def log(*a):
    print(*a, file=sys.stderr, flush=True)
