"""LayerMem over every layer: all layers from one pass against one forward pass per layer.

Compares, side by side in one run (interleaved repetitions after warm-up, medians):

- **one pass**: `memorization_scores(f, g, images, layers=<all layers>)`: per batch, one forward pass of each encoder
  over the originals and their K views, every layer's output taken from that pass (`layer_outputs` hooks);
- **a pass per layer**: what the official LayerMem code does in spirit (it re-runs a truncated model per layer):
  one `alignment_losses({'f': f, 'g': g}, images, layers=[layer])` call per layer, each with its own views and
  forward passes.

Both give the same per-layer alignments (checked to 1e-4 as a sanity check, not a timing). Cases: the small CNN on
the 8x8 digits (4 blocks + output = 5 layers) and ResNet-18 at 32x32 on random uint8 images (act1, 8 residual
blocks + output = 10 layers). f is untrained and g a perturbed copy: speed does not depend on the weights.

Target (issue 8, item 2): one pass at least (number of layers / 1.5) times faster than a pass per layer.
(`sslmem.localize.layer_mem` is this same `memorization_scores` call followed by its per-layer summary table.) Threads: as the machine gives unless OMP_NUM_THREADS is set.
Run: `python benchmarks/layermem.py [--quick]`.
"""
import torch

from _common import parser, interleaved, median, spread, row, finish, log
from scoring import make_case
from sslmem.augment import SimCLRViews
from sslmem.memorization import memorization_scores, alignment_losses
from sslmem.models import layer_names

K = 5


def run_case(name, n_images, batch_size, reps, warmup):
    f, g, images, keys = make_case(name, 'cpu', n_images)
    layers, views = layer_names(f), SimCLRViews()

    def one_pass(): return memorization_scores(f, g, images, keys=keys, n_views=K, layers=layers, views=views, batch_size=batch_size)
    def per_layer():
        return {l: alignment_losses(dict(f=f, g=g), images, K, layers=[l], keys=keys, views=views, batch_size=batch_size)
                for l in layers}

    # sanity check, not a timing (these calls also warm both up)
    _, table = one_pass()
    separate = per_layer()
    err = 0.0
    for l in layers:
        rows = table[table.layer == l]
        for h in 'fg':
            err = max(err, (torch.tensor(rows[f'align_{h}'].to_numpy()) - separate[l][h][l]).abs().max().item())
    if err > 1e-4: raise AssertionError(f'{name}: one pass and a pass per layer disagree by {err:.2g} (> 1e-4)')
    log(f'{name}: {len(layers)} layers agree to {err:.1e}; timing {reps} interleaved repetitions ...')

    t = interleaved({'one pass': one_pass, 'pass per layer': per_layer}, reps=reps, warmup=max(0, warmup - 1))
    speedup = median(t['pass per layer']) / median(t['one pass'])
    target = len(layers) / 1.5
    case = f"{name} {tuple(images.shape[1:])}, {len(layers)} layers, N={n_images}, B={batch_size}, K={K}"
    return [row('layermem', case, 'speed-up of one pass over a pass per layer', speedup, f'>= {target:.3g}',
                f"one pass {spread(t['one pass'])}; a pass per layer {spread(t['pass per layer'])} "
                f"(the ideal is {len(layers)}x); layers {', '.join(layers)}; per-layer alignments agree to {err:.1e}")]


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--models', default='small_cnn,resnet18', help='comma-separated: small_cnn, resnet18')
    p.add_argument('--batch-size', type=int, default=256, help='images per scoring pass (B)')
    args = p.parse_args(argv)
    reps = args.reps or (2 if args.quick else 3)
    sizes = dict(small_cnn=64 if args.quick else 512, resnet18=4 if args.quick else 32)
    rows = []
    for name in args.models.split(','):
        rows += run_case(name, sizes[name], min(args.batch_size, sizes[name]), reps, args.warmup)
    return finish(rows, args, 'LayerMem: every layer from one pass vs a forward pass per layer')


if __name__ == '__main__':
    main()
