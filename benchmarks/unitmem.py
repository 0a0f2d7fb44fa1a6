"""UnitMem at scale: peak memory and time of `sslmem.localize.unit_mem` on 10,000 images x 10 views.

UnitMem needs, per unit, its mean activation on each image over K views: an [N images, U units] table.
`unit_mem` streams: each batch's views go through the encoder once, are averaged per image at once, and only the
[batch, U] means are kept. Holding the views' activations instead (what a per-image loop that stacks them, or a
naive "compute everything, then reduce" does) needs N x K x (every layer's C x H x W) numbers.

Each configuration runs in its own process, so its peak resident memory (`ru_maxrss`) is its own; the figure
reported is the growth of that peak during the `unit_mem` call over what the process held before it (the
model, the images, warmed-up kernels). Cases: the small CNN (width 32) on random 32x32 RGB uint8 images, every
layer but the output (block1-block4: 480 units, 73,728 activations per view); N = 2,500 and 10,000 at K = 10, and
K = 20 at N = 2,500.

Reads: memory should grow in proportion to N x U (the means table: 19 MB at 10,000 images) and stay flat in K;
holding every view's activations would take N x K x 73,728 x 4 bytes (29 GB at 10,000 x 10).
Threads: as the machine gives unless OMP_NUM_THREADS is set. Run: `python benchmarks/unitmem.py [--quick]`.
"""
import json, subprocess, sys

from _common import parser, row, finish, log, ROOT

CHILD = r"""
import json, resource, sys, time, torch
sys.path.insert(0, sys.argv[4])
from sslmem.models import make_encoder, layer_names
from sslmem.localize import unit_mem
n, k, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
encoder = make_encoder('small_cnn', in_chans=3, width=32, seed=0)
layers = [l for l in layer_names(encoder) if l != 'output']
unit_mem(encoder, images[:max(2, batch // k)], layers, n_views=k, batch_size=batch)  # warm up allocators and kernels
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
table = unit_mem(encoder, images, layers, n_views=k, batch_size=batch)
seconds = time.perf_counter() - start
growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(dict(n=n, k=k, units=len(table), growth_mb=growth, seconds=seconds, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""
ACTIVATIONS_PER_VIEW = 32 * 32 * 32 + 64 * 16 * 16 + 128 * 8 * 8 + 256 * 8 * 8  # block1..block4 at 32x32


def measure(n:int, k:int, batch:int)->dict:
    "One configuration in a fresh process: its memory growth during `unit_mem` and its time."
    out = subprocess.run([sys.executable, '-c', CHILD, str(n), str(k), str(batch), str(ROOT)], capture_output=True, text=True)
    if out.returncode: raise RuntimeError(f'unit_mem N={n} K={k} failed:\n{out.stderr[-2000:]}')
    result = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"N={n} K={k}: +{result['growth_mb']:.0f} MB, {result['seconds']:.1f} s")
    return result


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--batch-size', type=int, default=1024, help='views per forward pass (unit_mem\'s batch_size)')
    args = p.parse_args(argv)
    big = 800 if args.quick else 10000
    base = big // 4
    by_n = [measure(n, 10, args.batch_size) for n in (base, big)]
    by_k = [by_n[0], measure(base, 20, args.batch_size)]
    units = by_n[0]['units']
    rows = []
    for r in by_n + by_k[1:]:
        means_mb = r['n'] * units * 4 / 2**20
        held_gb = r['n'] * r['k'] * ACTIVATIONS_PER_VIEW * 4 / 2**30
        rows.append(row('unitmem', f"small_cnn 32x32, {units} units, N={r['n']:,}, K={r['k']}", 'peak memory growth',
                        r['growth_mb'], '', f"{r['seconds']:.1f} s ({r['n'] * r['k'] / r['seconds']:,.0f} views/s); "
                        f"the means table is {means_mb:.1f} MB; holding every view's activations would take {held_gb:.1f} GB; "
                        f"process peak {r['peak_mb']:.0f} MB", unit=' MB'))
    n_small, n_big = by_n[0], by_n[-1]
    # memory per extra image, against the means table's 4 bytes per unit and image
    per_image = (n_big['growth_mb'] - n_small['growth_mb']) * 2**20 / (n_big['n'] - n_small['n'])
    rows.append(row('unitmem', f"N {n_small['n']:,} -> {n_big['n']:,}, K=10", 'extra bytes per image / (4 x units)',
                    per_image / (4 * units), '<= 4', f"{per_image:,.0f} bytes per extra image; a view's activations are "
                    f"{ACTIVATIONS_PER_VIEW * 4:,} bytes, so holding views would add {10 * ACTIVATIONS_PER_VIEW * 4:,} bytes per image"))
    k10, k20 = by_k
    rows.append(row('unitmem', f"N={base:,}, K 10 -> 20", 'memory growth at K=20 / at K=10', k20['growth_mb'] / max(k10['growth_mb'], 1.0),
                    '<= 1.5', f"{k10['growth_mb']:.0f} MB at K=10, {k20['growth_mb']:.0f} MB at K=20 (holding views: 2x)"))
    rows.append(row('unitmem', f"N={big:,}, K=10", 'time', n_big['seconds'], '', f"{n_big['n'] * 10 / n_big['seconds']:,.0f} views/s", unit=' s'))
    return finish(rows, args, 'UnitMem: peak memory and time on many images')


if __name__ == '__main__':
    main()
