"""Augmentation: batched `sslmem.augment.SimCLRViews` against a per-image torchvision pipeline on PIL images.

Compares, side by side in one run (interleaved repetitions after warm-up, medians), for a batch of N RGB images
x 2 views at 32x32 and at 96x96:

- **sslmem**: `SimCLRViews()(images, 2, seed, keys)` on the uint8 batch [N, 3, S, S]: one batched computation,
  each view with its own random parameters, giving float views [2, N, 3, S, S];
- **torchvision/PIL**: what a usual SimCLR data pipeline does per image in the data loader: `torchvision.transforms.v2`
  on a PIL image with the same operations, RandomResizedCrop(S), RandomHorizontalFlip(), RandomApply(ColorJitter(0.4,
  0.4, 0.4, 0.1), p=0.8), RandomGrayscale(0.2), then to a float tensor; twice per image, then stacked to
  [2, N, 3, S, S]. The PIL images are made beforehand (a data set holds them).

Target (issue 8, item 4): on a CPU, sslmem no slower than PIL at any size (speed-up >= 1). On a GPU the views must
never make the training step wait: the SimCLR ResNet-18 (32x32, batch 512, bf16, channels_last) step with views made
on the GPU against the same step on views made beforehand (target: at most 5% slower); "not measured: no GPU" here.
Threads: as the machine gives unless OMP_NUM_THREADS is set (PIL's per-image work uses one thread).
Run: `python benchmarks/augment.py [--quick]`.
"""
import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from _common import parser, interleaved, median, spread, row, not_measured, finish, log, synchronize
from sslmem.augment import SimCLRViews


def pil_pipeline(size:int)->v2.Compose:
    "SimCLR's CIFAR augmentations as torchvision applies them to one PIL image, ending in a float tensor."
    return v2.Compose([v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip(),
                       v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), v2.RandomGrayscale(0.2),
                       v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


def random_images(n:int, size:int, seed:int=0)->torch.Tensor:
    "[n, 3, size, size] uint8: smooth random colour images (noise upsampled), so crops and colours vary."
    gen = torch.Generator().manual_seed(seed)
    small = torch.rand(n, 3, max(2, size // 4), max(2, size // 4), generator=gen)
    x = torch.nn.functional.interpolate(small, size=(size, size), mode='bilinear', align_corners=False)
    return (x * 255).round().clamp(0, 255).to(torch.uint8)


def cpu_case(n:int, size:int, reps:int, warmup:int)->list:
    images = random_images(n, size)
    pils = [Image.fromarray(im.permute(1, 2, 0).numpy()) for im in images]
    keys, views, pipe = torch.arange(n), SimCLRViews(), pil_pipeline(size)

    def ours(): return views(images, 2, 0, keys)
    def pil(): return torch.stack([torch.stack([pipe(im) for im in pils]) for _ in range(2)])

    a, b = ours(), pil()
    if a.shape != b.shape or a.dtype != b.dtype: raise AssertionError(f'shapes differ: {tuple(a.shape)} {a.dtype} vs {tuple(b.shape)} {b.dtype}')
    log(f'{size}x{size}: timing {reps} interleaved repetitions ...')
    t = interleaved({'sslmem': ours, 'torchvision/PIL': pil}, reps=reps, warmup=warmup)
    speedup = median(t['torchvision/PIL']) / median(t['sslmem'])
    case = f'{n} RGB images {size}x{size} x 2 views, cpu'
    return [row('augment', case, 'speed-up of sslmem over torchvision/PIL', speedup, '>= 1',
                f"sslmem {spread(t['sslmem'])} ({2 * n / median(t['sslmem']):,.0f} views/s); "
                f"torchvision/PIL {spread(t['torchvision/PIL'])} ({2 * n / median(t['torchvision/PIL']):,.0f} views/s)")]


def gpu_step_case(batch:int, steps:int, reps:int, warmup:int)->list:
    "SimCLR training step on the GPU with views made in the step against the same step on precomputed views."
    from sslmem.models import make_encoder
    from sslmem.train import make_method
    device = 'cuda'
    encoder = make_encoder('resnet18', in_chans=3, seed=0).to(device).to(memory_format=torch.channels_last)
    method = make_method('simclr', encoder).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(method.parameters(), lr=1e-3)
    images = random_images(batch * steps, 32).to(device)
    keys, views = torch.arange(len(images), device=device), SimCLRViews()
    pre = [views(images[i * batch:(i + 1) * batch], 2, 0, keys[i * batch:(i + 1) * batch]) for i in range(steps)]

    def step(v):
        with torch.autocast('cuda', dtype=torch.bfloat16):
            loss, _, _ = method([v], None)  # channels_last weights make cuDNN pick NHWC kernels
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

    def with_views():
        for i in range(steps): step(views(images[i * batch:(i + 1) * batch], 2, i, keys[i * batch:(i + 1) * batch]))
    def precomputed():
        for v in pre: step(v)

    t = interleaved({'views in the step': with_views, 'precomputed views': precomputed}, reps=reps, warmup=warmup)
    ratio = median(t['views in the step']) / median(t['precomputed views'])
    return [row('augment', f'SimCLR ResNet-18 32x32 step, batch {batch}, bf16, {torch.cuda.get_device_name(0)}',
                'step time with views / with precomputed views', ratio, '<= 1.05',
                f"views in the step {spread(t['views in the step'])}; precomputed {spread(t['precomputed views'])} "
                f"for {steps} steps ({batch * steps / median(t['views in the step']):,.0f} images/s with views)")]


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--sizes', default='32,96', help='comma-separated image sides')
    p.add_argument('--n', type=int, default=None, help='images per batch (default 512; 128 with --quick)')
    args = p.parse_args(argv)
    reps = args.reps or (3 if args.quick else 7)
    n = args.n or (128 if args.quick else 512)
    rows = []
    for size in (int(s) for s in args.sizes.split(',')): rows += cpu_case(n, size, reps, args.warmup)
    if torch.cuda.is_available():
        rows += gpu_step_case(512, 5 if args.quick else 20, reps, args.warmup)
    else:
        rows.append(not_measured('augment', 'SimCLR ResNet-18 32x32 step, batch 512, GPU',
                                 'step time with views / with precomputed views', 'no GPU', '<= 1.05'))
    return finish(rows, args, 'Augmentation: batched SimCLRViews vs per-image torchvision on PIL')


if __name__ == '__main__':
    main()
