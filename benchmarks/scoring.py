"""Scoring throughput: `sslmem.memorization.memorization_scores` against the official script's loop.

Compares, side by side in one run (interleaved repetitions after warm-up, medians):

- **sslmem**: `memorization_scores(f, g, images, n_views=K)`, K = 5: per batch of B images, one forward pass of
  each encoder over the B originals and their K·B views ((K+1)·B inputs), views made batched by `SimCLRViews`;
- **reference**: the official script's loop (sprintml/MemorizationSSL, `memorization_scores.py`), written out
  here: batch size 1, and for each image and each of its K views f(x), f(view), g(x), g(view), i.e. 4K forward
  passes per image, views made per image. The views are the same keyed `SimCLRViews` views in both, so the
  alignments must agree (checked to 1e-4 as a sanity check, not a timing). The reference runs in inference
  mode (the official script keeps autograd on, which would only make it slower);
- **bare passes** (the limit): only the batched forward passes scoring needs, each encoder over the (K+1)·B
  inputs of every batch (inputs made beforehand), with no views and no distances;
- **views only**: making the (K+1)·B scoring inputs of every batch (`scoring_inputs`), to show where the rest goes.

Cases: the small CNN on the 8x8 digits, and ResNet-18 at 32x32 (`make_encoder('resnet18', in_chans=3)`) on random
uint8 images. f is an untrained encoder and g a perturbed copy: speed does not depend on the weights.

Targets (issue 8, item 1): speed-up over the reference >= 2.5x on a CPU for both models and >= 50x on a GPU;
scoring time / bare passes <= 1.3. GPU rows say "not measured" when torch.cuda is unavailable.

Threads: torch uses as many as the machine gives unless OMP_NUM_THREADS is set; the figure is in the output.
Run: `python benchmarks/scoring.py [--quick] [--profile]`.
"""
import copy

import numpy as np
import torch
import torch.nn.functional as F

from _common import parser, interleaved, median, spread, row, not_measured, finish, log, synchronize
from sslmem.augment import SimCLRViews, to_float
from sslmem.data import load_dataset
from sslmem.memorization import memorization_scores, scoring_inputs
from sslmem.models import make_encoder

K = 5


def perturbed(encoder, scale=0.1, seed=1):
    "A copy of `encoder` with Gaussian noise of `scale` times each weight tensor's spread: a stand-in for g."
    copied, gen = copy.deepcopy(encoder), torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in copied.parameters(): p.add_((scale * p.std() * torch.randn(p.shape, generator=gen)).to(p.device))
    return copied


def reference_loop(f, g, images, keys, n_views=K, seed=0, views=None):
    "The official script's loop: batch size 1; per image and view f(x), f(a_k), g(x), g(a_k): 4K passes per image."
    views = views or SimCLRViews()
    device = f.mean.device
    align_f, align_g = [], []
    with torch.inference_mode():
        for x, key in zip(images, keys):
            x = x[None].to(device)
            augmented, x = views(x, n_views, seed, key.view(1).to(device)), to_float(x, views.size)
            d_f, d_g = [], []
            for k in range(n_views):
                a = augmented[k]
                rep1_f, rep2_f = F.normalize(f(x).flatten(), dim=-1), F.normalize(f(a).flatten(), dim=-1)
                rep1_g, rep2_g = F.normalize(g(x).flatten(), dim=-1), F.normalize(g(a).flatten(), dim=-1)
                d_f.append((rep1_f - rep2_f).norm().item()); d_g.append((rep1_g - rep2_g).norm().item())
            align_f.append(np.mean(d_f)); align_g.append(np.mean(d_g))
    return torch.tensor(align_f), torch.tensor(align_g)


def bare_passes(f, g, batches):
    "The limit: each encoder over each batch's precomputed (K+1)·B scoring inputs, nothing else."
    with torch.inference_mode():
        for inputs in batches: f(inputs); g(inputs)


def make_case(name, device, n_images):
    "(f, g, images, keys) of a case."
    if name == 'small_cnn':
        images = load_dataset('digits').images
        images = images[torch.arange(n_images) % len(images)]
        f = make_encoder('small_cnn', in_chans=1, seed=0)
    elif name == 'resnet18':
        images = torch.randint(0, 256, (n_images, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        f = make_encoder('resnet18', in_chans=3, seed=0)
    else: raise ValueError(name)
    f = f.to(device).eval()
    g = perturbed(f).eval()
    return f, g, images.to(device), torch.arange(n_images)


def profile(label, fn):
    "torch.profiler's table of the ops that take the most time in one call of `fn`."
    from torch.profiler import profile as tprofile, ProfilerActivity
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with tprofile(activities=acts) as prof: fn(); synchronize()
    print(f'\n-- profile: {label} --')
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=18))


def run_case(name, device, n_images, n_ref, batch_sizes, reps, warmup, do_profile):
    "Time sslmem (at each batch size), the reference loop, the bare passes and the views, interleaved; the rows."
    f, g, images, keys = make_case(name, device, n_images)
    views, dev_keys = SimCLRViews(), keys.to(device)
    ref_images, ref_keys = images[:n_ref], keys[:n_ref]
    def inputs(b): return [scoring_inputs(images[s:s + b], dev_keys[s:s + b], K, 'original', 0, views) for s in range(0, n_images, b)]
    batches = {b: inputs(b) for b in batch_sizes}

    def ours(b): return lambda: memorization_scores(f, g, images, keys=keys, n_views=K, views=views, batch_size=b)
    def ref(): return reference_loop(f, g, ref_images, ref_keys, K, 0, views)
    def bare(b): return lambda: bare_passes(f, g, batches[b])
    def views_only(b):
        def fn():
            with torch.inference_mode(): inputs(b)
        return fn

    # sanity check, not a timing: the same alignments from both computations (these calls also warm both up)
    ref_f, ref_g = ref()
    for b in batch_sizes:
        scores = ours(b)()
        err = max((torch.tensor(scores.align_f.to_numpy()[:n_ref]) - ref_f).abs().max().item(),
                  (torch.tensor(scores.align_g.to_numpy()[:n_ref]) - ref_g).abs().max().item())
        if err > 1e-4: raise AssertionError(f'{name}, B={b}: sslmem and the reference loop disagree by {err:.2g} (> 1e-4)')
    log(f'{name} on {device}: alignments agree to {err:.1e}; timing {reps} interleaved repetitions ...')

    fns = {'reference': ref}
    for b in batch_sizes: fns |= {f'sslmem B={b}': ours(b), f'bare B={b}': bare(b), f'views B={b}': views_only(b)}
    interleaved({k: v for k, v in fns.items() if not k.startswith(('reference', 'sslmem'))}, reps=0, warmup=warmup)
    t = interleaved(fns, reps=reps, warmup=max(0, warmup - 1))
    t_ref = median(t['reference']) / n_ref  # seconds per image
    gpu = device.startswith('cuda')
    rows = []
    for b in batch_sizes:
        t_ours = median(t[f'sslmem B={b}']) / n_images
        case = f"{name} {tuple(images.shape[1:])} {device}, N={n_images}, B={b}, K={K}"
        detail = (f"sslmem {spread(t[f'sslmem B={b}'])} for {n_images} images ({1 / t_ours:,.1f} images/s); "
                  f"reference {spread(t['reference'])} for {n_ref} images ({1 / t_ref:,.2f} images/s, "
                  f"{4 * K} passes of one image each); alignments agree to {err:.1e}")
        rows += [row('scoring', case, 'speed-up over reference loop', t_ref / t_ours, '>= 50' if gpu else '>= 2.5', detail),
                 row('scoring', case, 'scoring / bare batched passes', median(t[f'sslmem B={b}']) / median(t[f'bare B={b}']), '<= 1.3',
                     f"bare passes {spread(t[f'bare B={b}'])}; views alone {spread(t[f'views B={b}'])} "
                     f"({median(t[f'views B={b}']) / median(t[f'sslmem B={b}']):.0%} of scoring)"),
                 row('scoring', case, 'sslmem throughput', 1 / t_ours, '', unit='images/s')]
    if do_profile:
        b = batch_sizes[0]
        profile(f'{name}: memorization_scores, B={b}', ours(b))
        profile(f'{name}: bare passes, B={b}', bare(b))
        profile(f'{name}: reference loop, 4 images', lambda: reference_loop(f, g, ref_images[:4], ref_keys[:4], K, 0, views))
    return rows


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--models', default='small_cnn,resnet18', help='comma-separated: small_cnn, resnet18')
    p.add_argument('--batch-sizes', default=None,
                   help='comma-separated images per scoring pass B (default: 256, the library default, and in full runs '
                        'also 16: (K+1)·16 = 96 inputs per pass, which suits a CPU\'s caches better)')
    p.add_argument('--profile', action='store_true', help='print torch.profiler tables of one call of each')
    args = p.parse_args(argv)
    reps = args.reps or (2 if args.quick else 3)
    batch_sizes = [int(b) for b in (args.batch_sizes or ('256' if args.quick else '256,16')).split(',')]
    # images scored by sslmem / by the reference loop, per model
    sizes = dict(small_cnn=(64, 64) if args.quick else (512, 512), resnet18=(16, 16) if args.quick else (64, 64))
    rows = []
    for name in args.models.split(','):
        n, n_ref = sizes[name]
        rows += run_case(name, 'cpu', n, n_ref, list(dict.fromkeys(min(b, n) for b in batch_sizes)), reps, args.warmup, args.profile)
    if torch.cuda.is_available():
        gpu_sizes = dict(small_cnn=(4096, 64), resnet18=(2048, 32))  # the reference is timed per image on a subset
        for name in args.models.split(','):
            n, n_ref = gpu_sizes[name]
            rows += run_case(name, 'cuda', n // (8 if args.quick else 1), n_ref // (4 if args.quick else 1),
                             [max(batch_sizes)], reps, args.warmup, args.profile)
    else:
        for name in args.models.split(','):
            rows.append(not_measured('scoring', f'{name} cuda', 'speed-up over reference loop', 'no GPU lent', '>= 50'))
    return finish(rows, args, 'Scoring: memorization_scores vs the reference loop (batch size 1, 4K passes per image)')


if __name__ == '__main__':
    main()
