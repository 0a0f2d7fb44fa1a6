"""Training throughput: `sslmem.train.train_encoder` (PyTorch Lightning) against a minimal hand-written PyTorch loop.

Compares, side by side in one run (the two alternate, Lightning then the bare loop, after a warm-up run of each):

- **Lightning**: `train_encoder(digits, method='simclr', backbone=..., epochs=E, batch_size=B, progress=False)`, with
  everything it does per step and per epoch (views, the alignment term it logs, logging, the History callback,
  the resume checkpoint, written as `ResumeCheckpoint` decides: at most 1% of the time);
- **bare loop**: the same model (`make_encoder` with the same seed and `make_method('simclr', ...)`), the same views
  (`SimCLRViews` on the batch, seeded per epoch and step group as the trainer does), the same data loader
  (`IndexedImages` + `EpochShuffle`, drop_last), the same optimizer (AdamW, no decay on biases and norms) and
  learning-rate schedule, written as a plain `for` loop: views, forward, backward, step.

Both count images per second over the steady-state epochs (the first epoch is excluded: it pays for set-up), the
same number of steps. The ratio reported is the median over rounds of each round's bare / Lightning ratio. On a GPU both use bf16 autocast (the trainer's default there).
Target (issue 3): Lightning within 5% of the bare loop (bare / Lightning images/s <= 1.05).

Also: images/s of every method (simclr, simsiam, byol, dino, vicreg, mae on vit_tiny, supervised) with the same
backbone, data and batch size through `train_encoder`, methods taken in turn each round (no target).
Threads: as the machine gives unless OMP_NUM_THREADS is set. Run: `python benchmarks/training.py [--quick]`.
"""
import tempfile, time

import torch
import pytorch_lightning as pl
from torch.utils.data import DataLoader
from lightly.models import utils as lightly_utils
from lightly.utils.scheduler import CosineWarmupScheduler

from _common import parser, median, row, finish, log
from sslmem.augment import SimCLRViews, derive_seed
from sslmem.data import load_dataset
from sslmem.models import make_encoder
from sslmem.train import IndexedImages, EpochShuffle, default_views, make_method, train_encoder, DEFAULT_LR, DEFAULT_WD, METHODS


class EpochClock(pl.Callback):
    "Wall-clock marks at the start of every epoch and at the end of training, and the steps of each epoch."
    def __init__(self): self.starts, self.steps, self.end = [], [], None
    def on_train_epoch_start(self, trainer, module): self.starts.append(time.perf_counter()); self.steps.append(0)
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx): self.steps[-1] += 1
    def on_train_end(self, trainer, module): self.end = time.perf_counter()
    def steady(self)->tuple:
        "(seconds, steps) from the start of the second epoch to the end of training."
        return self.end - self.starts[1], sum(self.steps[1:])


def lightning_run(data, indices, method, backbone, epochs, batch_size, seed=0, backbone_kwargs=None)->tuple:
    "(seconds, steps) of the steady-state epochs of one `train_encoder` run."
    clock = EpochClock()
    with tempfile.TemporaryDirectory(prefix='sslmem-bench-') as run_dir:
        train_encoder(data, indices, method=method, backbone=backbone, epochs=epochs, batch_size=batch_size, seed=seed,
                      backbone_kwargs=backbone_kwargs, checkpoint_dir=run_dir, callbacks=[clock], progress=False)
    return clock.steady()


def _param_groups(module, weight_decay):
    "No weight decay on biases and norm parameters, as the trainer does."
    decay, no_decay = lightly_utils.get_weight_decay_parameters([module])
    return [dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)]


def bare_run(data, indices, method_name, backbone, epochs, batch_size, seed=0)->tuple:
    "(seconds, steps) of the steady-state epochs of a minimal PyTorch loop with the trainer's model, views and optimizer."
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    views = SimCLRViews()
    encoder = make_encoder(backbone, in_chans=data.channels, img_size=views.size or data.size[0], seed=seed)
    method = make_method(method_name, encoder).to(device).train()
    specs = default_views(method_name, data.size[0], views)
    opt = torch.optim.AdamW(_param_groups(method, DEFAULT_WD[method_name]), lr=DEFAULT_LR[method_name])
    sampler = EpochShuffle(len(indices), seed)
    loader = DataLoader(IndexedImages(data, indices), batch_size=batch_size, sampler=sampler, drop_last=True,
                        pin_memory=device == 'cuda')
    total = epochs * len(loader)
    schedule = CosineWarmupScheduler(opt, warmup_epochs=int(total * max(1, epochs // 10) / epochs), max_epochs=total)
    torch.manual_seed(seed)
    starts, steps = [], []
    for epoch in range(epochs):
        starts.append(time.perf_counter()); steps.append(0)
        sampler.set_epoch(epoch)
        epoch_seed = derive_seed(seed, epoch)
        for images, labels, keys in loader:
            images, labels, keys = (t.to(device, non_blocking=True) for t in (images, labels, keys))
            groups = [spec.views(images, spec.n, derive_seed(epoch_seed, i), keys) for i, spec in enumerate(specs) if spec.n]
            with torch.autocast(device, dtype=torch.bfloat16, enabled=device == 'cuda'):
                loss, _, _ = method(groups, labels, (epoch * len(loader) + steps[-1]) / total)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step(); schedule.step()
            steps[-1] += 1
    if device == 'cuda': torch.cuda.synchronize()
    return time.perf_counter() - starts[1], sum(steps[1:])


def compare(data, indices, backbone, epochs, batch_size, reps)->list:
    "Lightning against the bare loop, alternating, after one warm-up run of each."
    log(f'lightning vs bare loop: warm-up, then {reps} rounds of {epochs} epochs each ...')
    lightning_run(data, indices, 'simclr', backbone, 2, batch_size); bare_run(data, indices, 'simclr', backbone, 2, batch_size)
    rates = dict(lightning=[], bare=[])
    for _ in range(reps):
        for name, fn in (('lightning', lightning_run), ('bare', bare_run)):
            seconds, steps = fn(data, indices, 'simclr', backbone, epochs, batch_size)
            rates[name].append(steps * batch_size / seconds)
    # the ratio of each round, Lightning and the bare loop run back to back, then the median over rounds: the
    # machine's speed drifts by more than the gap measured (10% between rounds on the 2-core CPU)
    round_ratios = [b / l for b, l in zip(rates['bare'], rates['lightning'])]
    ratio = median(round_ratios)
    case = f"simclr {backbone} on {data.name} {tuple(data.images.shape[1:])}, {len(indices)} images, batch {batch_size}"
    detail = (f"Lightning {median(rates['lightning']):,.0f} images/s {[round(r) for r in rates['lightning']]}; "
              f"bare loop {median(rates['bare']):,.0f} images/s {[round(r) for r in rates['bare']]}; "
              f"epochs 2-{epochs} of each run; per-round ratios {[round(r, 3) for r in round_ratios]}, median "
              f"{ratio:.3f}: Lightning is {100 * (ratio - 1):+.1f}% slower")
    return [row('training', case, 'bare-loop images/s / Lightning images/s', ratio, '<= 1.05', detail),
            row('training', case, 'Lightning throughput', median(rates['lightning']), '', unit='images/s'),
            row('training', case, 'bare-loop throughput', median(rates['bare']), '', unit='images/s')]


def per_method(data, indices, backbone, methods, epochs, batch_size, reps, vit_kwargs)->list:
    "images/s of each method through `train_encoder`, methods in turn each round."
    log(f'per method: {reps} rounds of {", ".join(methods)}, {epochs} epochs each ...')
    rates = {m: [] for m in methods}
    for _ in range(reps):
        for m in methods:
            bb, kw = ('vit_tiny', vit_kwargs) if m == 'mae' else (backbone, None)
            seconds, steps = lightning_run(data, indices, m, bb, epochs, batch_size, backbone_kwargs=kw)
            rates[m].append(steps * batch_size / seconds)
    return [row('training', f"{m} {'vit_tiny ' + str(vit_kwargs or '') if m == 'mae' else backbone} on {data.name}, batch {batch_size}",
                'images/s (train_encoder)', median(r), '', f'{[round(x) for x in r]}', unit='images/s') for m, r in rates.items()]


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--backbone', default='small_cnn', help='backbone of every method except mae (vit_tiny)')
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--epochs', type=int, default=None, help='epochs per run (the first is not counted)')
    p.add_argument('--methods', default=','.join(METHODS), help='comma-separated methods for the images/s table ("" to skip)')
    args = p.parse_args(argv)
    data = load_dataset('digits')
    reps = args.reps or (2 if args.quick else 7)
    epochs = args.epochs or (3 if args.quick else 10)
    indices = torch.arange(len(data))
    rows = compare(data, indices, args.backbone, epochs, args.batch_size, reps)
    methods = [m for m in args.methods.split(',') if m]
    if methods:
        # a shorter run per method: fewer images in quick runs; vit_tiny at 8x8 with patch 1 (64 tokens)
        sub = indices[:512] if args.quick else indices
        rows += per_method(data, sub, args.backbone, methods, 2 if args.quick else 3, args.batch_size,
                           1 if args.quick else 2, dict(depth=4) if args.quick else None)
    return finish(rows, args, 'Training: train_encoder (Lightning) vs a bare PyTorch loop, and images/s per method')


if __name__ == '__main__':
    main()
