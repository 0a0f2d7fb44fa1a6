"""The main job on Fashion-MNIST: its wall time on this machine, and whether it shows the paper's two effects.

Runs `sslmem run --dataset fashion_mnist` with the settings below through the console script a user types,
times the whole command, and reads the three one-sided t-tests from its summary.json. Targets: the job
finishes within 30 minutes on a 2-core CPU, and shows S_C > S_S and S_I < S_S, each with p < 0.01
(S_C > S_E is printed too; it has no target). Needs Debian's package `dataset-fashion-mnist` (or the
idx files under --root in torchvision's layout, root/FashionMNIST/raw/).

The time is that of the machine as it is: other work running at the same time slows the job, so the
load average before and after is printed with it, and the CPU time the job used.

Usage: `OMP_NUM_THREADS=2 python benchmarks/fashion_mnist_job.py [--out DIR] [--root DIR] [--quick] [--json FILE]`
(--quick: 2 epochs on 300 images, to check the script; its figures mean nothing).
"""
import json, os, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, log, parser, row  # noqa: E402

# the chosen configuration (benchmarks/RESULTS.md, "Fashion-MNIST main job", lists every trial)
SETTINGS = dict(size=8, limit=1000, epochs=300, width=32)
QUICK = dict(size=8, limit=300, epochs=2, width=8)
TIME_TARGET = '<= 30'  # minutes
P_TARGET = '<= 0.01'


def sslmem_command(settings:dict, out:Path, root:str|None)->list:
    "The command line a user would type, with the console script of this Python's environment."
    script = Path(sys.executable).parent/'sslmem'
    args = [str(script) if script.exists() else 'sslmem', 'run', '--dataset', 'fashion_mnist']
    for k, v in settings.items(): args += [f'--{k}', str(v)]
    return args + (['--root', root] if root else []) + ['--out', str(out), '--no-progress']


def run_job(settings:dict, out:Path, root:str|None)->tuple:
    "Run the job; (wall seconds, CPU seconds of the job, load averages before and after, summary)."
    cmd = sslmem_command(settings, out, root)
    log('running: ' + ' '.join(cmd))
    load_before, cpu_before = os.getloadavg(), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0: sys.exit(f'the job failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}')
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu, load_before, os.getloadavg(), json.loads((out/'summary.json').read_text())


def rows_of(settings:dict, wall:float, cpu:float, load_before, load_after, summary:dict)->list:
    case = (f"simclr small_cnn width {settings['width']}, {settings['size']}x{settings['size']}, "
            f"{summary['sizes']['shared'] + summary['sizes']['candidate']} images per encoder, {settings['epochs']} epochs")
    loads = ' '.join(f'{x:.2f}' for x in load_before) + ' -> ' + ' '.join(f'{x:.2f}' for x in load_after)
    rows = [row('fashion_mnist_job', case, 'wall time of the job', round(wall / 60, 1), TIME_TARGET, unit=' min',
                detail=f"{wall:.0f} s; CPU time {cpu:.0f} s; training {summary['timings']['train']:.0f} s; "
                       f"load average (1, 5, 15 min) {loads}; subsets {summary['sizes']}")]
    for hypothesis in ('S_C > S_S', 'S_I < S_S', 'S_C > S_E'):
        t = summary['tests'][hypothesis]
        rows.append(row('fashion_mnist_job', case, f'one-sided p, {hypothesis}', t['p'],
                        P_TARGET if hypothesis != 'S_C > S_E' else '', unit='',
                        detail=f"Cohen's d {t['cohens_d']:+.3f}; mean m {t['mean_a']:.4f} vs {t['mean_b']:.4f} "
                               f"(n {t['n_a']} vs {t['n_b']}); t {t['t']:.2f}"))
    return rows


def main():
    p = parser(__doc__.split('\n')[0])
    p.add_argument('--out', default=None, help="the job's output folder (default: a temporary folder, removed after)")
    p.add_argument('--root', default=None, help='folder holding FashionMNIST/raw/ (default: Debian\'s copy)')
    args = p.parse_args()
    settings = QUICK if args.quick else SETTINGS
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix='sslmem-fashion-job-'))/'run'
    try: rows = rows_of(settings, *run_job(settings, out, args.root))
    finally:
        if not args.out: shutil.rmtree(out.parent, ignore_errors=True)
    print('command of the job: ' + ' '.join(['sslmem'] + sslmem_command(settings, Path('OUT'), args.root)[1:]))
    finish(rows, args, 'Fashion-MNIST main job: time and the two effects')


if __name__ == '__main__': main()
