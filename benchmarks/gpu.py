"""GPU: SimCLR training throughput with bf16, channels_last and batched GPU views, and scoring throughput (issue 8, item 6).

On a CUDA machine, on random data of CIFAR-10's shape (50,000 RGB 32x32 uint8 images, kept on the GPU):

- **optimised loop**: SimCLR (`make_method('simclr', make_encoder('resnet18', in_chans=3))`), batch 512, AdamW, bf16
  autocast, channels_last weights, views made on the GPU by `SimCLRViews` from the uint8 batch; timed over many steps
  after warm-up, interleaved with the same loop in fp32 and NCHW (the plain baseline) to show what the two settings
  give. Reported: images/s, the estimated time of 200 epochs (50,000 images each) and the GPU's busy fraction
  (`torch.cuda.utilization()` or `nvidia-smi` sampled every 100 ms while the timed steps run);
- **train_encoder**: the library's Lightning trainer on the same data (bf16-mixed by default on a GPU), images/s of
  its second epoch and the busy fraction;
- **scoring**: `memorization_scores` (K = 5) of ResNet-18 encoders on 10,000 images on the GPU, images/s, in fp32
  and under bf16 autocast.

Anchor: lightly's published CIFAR-10 benchmark, SimCLR ResNet-18 batch 512: 87.1 min for 200 epochs on one RTX A6000,
about 1,900 images/s. Targets: at least 3x that (>= 5,700 images/s, <= 29 min for 200 epochs) on an H100, with the
GPU busy >= 90% of the time. Without CUDA the script says so and exits cleanly (`--allow-cpu` runs a tiny smoke
version of the same code on the CPU, to check the script itself; its figures mean nothing).
Run: `python benchmarks/gpu.py [--quick] [--compile]`.
"""
import subprocess, tempfile, threading, time

import torch

from _common import parser, interleaved, median, spread, row, not_measured, finish, log, synchronize
from sslmem.augment import SimCLRViews
from sslmem.data import ImageData
from sslmem.memorization import memorization_scores
from sslmem.models import make_encoder
from sslmem.train import make_method

ANCHOR = 50_000 * 200 / (87.1 * 60)  # lightly's RTX A6000 figure, images/s
CIFAR = 50_000


class Utilisation:
    "Samples the GPU's busy percentage every `interval` seconds inside a `with` block: `.mean` after it."
    def __init__(self, interval:float=0.1): self.interval, self.samples, self.source = interval, [], 'n/a'
    def _torch(self):
        while not self._stop.is_set():
            self.samples.append(float(torch.cuda.utilization())); time.sleep(self.interval)
    def __enter__(self):
        self._stop, self._proc, self._thread = threading.Event(), None, None
        if not torch.cuda.is_available(): return self
        try:
            torch.cuda.utilization(); self.source = 'torch.cuda.utilization'
            self._thread = threading.Thread(target=self._torch, daemon=True); self._thread.start()
        except Exception:
            try:
                self._proc = subprocess.Popen(['nvidia-smi', '--query-gpu=utilization.gpu', '--format=csv,noheader,nounits',
                                               f'-lms={int(self.interval * 1000)}', '-i', str(torch.cuda.current_device())],
                                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                self.source = 'nvidia-smi'
                self._thread = threading.Thread(target=self._read, daemon=True); self._thread.start()
            except OSError: self.source = 'n/a'
        return self
    def _read(self):
        for line in self._proc.stdout:
            if self._stop.is_set(): break
            try: self.samples.append(float(line.strip()))
            except ValueError: pass
    def __exit__(self, *exc):
        self._stop.set()
        if self._proc is not None: self._proc.terminate()
        if self._thread is not None: self._thread.join(timeout=2)
    @property
    def mean(self): return sum(self.samples) / len(self.samples) if self.samples else float('nan')
    def describe(self): return f'{self.mean:.0f}% busy ({len(self.samples)} samples, {self.source})' if self.samples else 'utilisation n/a'


def cifar_like(n:int, device, seed:int=0)->tuple:
    "Random data of CIFAR-10's shape: uint8 images [n, 3, 32, 32] and labels in 0..9."
    gen = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen).to(device),
            torch.randint(0, 10, (n,), generator=gen).to(device))


def simclr_loop(images, device, batch:int, bf16:bool, channels_last:bool, compile_model:bool=False):
    "A callable that runs `steps` SimCLR training steps on the GPU-resident `images`, views made on the GPU."
    encoder = make_encoder('resnet18', in_chans=3, seed=0)
    method = make_method('simclr', encoder).to(device)
    if channels_last: method = method.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(method.parameters(), lr=1e-3, weight_decay=1e-6)
    forward = torch.compile(method) if compile_model else method
    views, state = SimCLRViews(), dict(step=0)
    n = len(images)

    def run(steps:int):
        for _ in range(steps):
            s = state['step'] % (n // batch); state['step'] += 1
            if s == 0: state['order'] = torch.randperm(n, device=device)
            idx = state['order'][s * batch:(s + 1) * batch]
            v = views(images[idx], 2, state['step'], idx)  # [2, B, 3, 32, 32] float on the GPU
            if channels_last: v = v.flatten(0, 1).contiguous(memory_format=torch.channels_last).view_as(v)
            with torch.autocast(device.split(':')[0], dtype=torch.bfloat16, enabled=bf16):
                loss, _, _ = forward([v], None)
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return run


def training_rows(device, quick:bool, compile_model:bool, reps:int, gpu_name:str, smoke:bool)->list:
    batch = 8 if smoke else 512
    steps = 1 if smoke else (20 if quick else 100)
    images, _ = cifar_like(batch * 4 if smoke else CIFAR, device)
    fast = simclr_loop(images, device, batch, bf16=True, channels_last=True, compile_model=compile_model)
    plain = simclr_loop(images, device, batch, bf16=False, channels_last=False)
    log(f'SimCLR ResNet-18 loop on {gpu_name}: warm-up, then {reps} interleaved rounds of {steps} steps ...')
    fast(1 if smoke else 30); plain(1 if smoke else 10); synchronize()
    with Utilisation() as busy:
        t = interleaved({'bf16 + channels_last': lambda: fast(steps)}, reps=reps, warmup=0)
    t_plain = interleaved({'bf16 + channels_last': lambda: fast(steps), 'fp32 NCHW': lambda: plain(steps)}, reps=reps, warmup=0)
    rate = batch * steps / median(t['bf16 + channels_last'])
    minutes = 200 * (CIFAR // batch) * batch / rate / 60
    case = f'SimCLR ResNet-18 32x32, batch {batch}, bf16 + channels_last + GPU views{" + torch.compile" if compile_model else ""}, {gpu_name}'
    target = lambda t: '' if smoke else t
    rows = [row('gpu', case, 'training images/s', rate, target(f'>= {3 * ANCHOR:.0f}'),
                f"{spread(t['bf16 + channels_last'])} per {steps} steps; anchor (lightly, RTX A6000) {ANCHOR:,.0f} images/s: "
                f"{rate / ANCHOR:.2f}x the anchor", unit='images/s'),
            row('gpu', case, 'estimated minutes for 200 epochs', minutes, target(f'<= {87.1 / 3:.1f}'), 'anchor 87.1 min', unit=' min'),
            row('gpu', case, 'GPU busy % while training', busy.mean, target('>= 90'), busy.describe(), unit='%'),
            row('gpu', case, 'speed-up of bf16 + channels_last over fp32 NCHW',
                median(t_plain['fp32 NCHW']) / median(t_plain['bf16 + channels_last']), '',
                f"interleaved: bf16+CL {spread(t_plain['bf16 + channels_last'])}, fp32 NCHW {spread(t_plain['fp32 NCHW'])}")]

    # the library's trainer on the same data: images/s of its second epoch
    from training import EpochClock
    from sslmem.train import train_encoder
    n = batch * 4 if smoke else (10_000 if quick else CIFAR)
    cpu_images, cpu_labels = images[:n].cpu(), torch.randint(0, 10, (n,))
    data = ImageData(cpu_images, cpu_labels, 'cifar10-shaped-random')
    clock = EpochClock()
    log(f'train_encoder on {n} images, 2 epochs ...')
    with tempfile.TemporaryDirectory(prefix='sslmem-bench-') as run_dir, Utilisation() as busy:
        train_encoder(data, method='simclr', backbone='resnet18', epochs=2, batch_size=batch, checkpoint_dir=run_dir,
                      callbacks=[clock], progress=False, accelerator='gpu' if device.startswith('cuda') else 'cpu')
    seconds, steps_run = clock.steady()
    lrate = steps_run * batch / seconds
    case = f'train_encoder SimCLR ResNet-18 32x32, batch {batch}, default precision, {gpu_name}'
    rows += [row('gpu', case, 'training images/s', lrate, target(f'>= {3 * ANCHOR:.0f}'),
                 f'epoch 2 of 2 on {n} images; {lrate / ANCHOR:.2f}x the anchor; {busy.describe()} over the whole run', unit='images/s'),
             row('gpu', case, 'estimated minutes for 200 epochs', 200 * (CIFAR // batch) * batch / lrate / 60,
                 target(f'<= {87.1 / 3:.1f}'), unit=' min')]
    return rows


def scoring_rows(device, quick:bool, reps:int, gpu_name:str, smoke:bool)->list:
    n = 8 if smoke else (2_000 if quick else 10_000)
    images, _ = cifar_like(n, device, seed=1)
    f = make_encoder('resnet18', in_chans=3, seed=0).to(device).eval()
    g = make_encoder('resnet18', in_chans=3, seed=1).to(device).eval()
    fns = {}
    for b in (256, 1024):
        fns[f'fp32 B={b}'] = lambda b=b: memorization_scores(f, g, images, n_views=5, batch_size=b)
        if smoke: continue  # bf16 is emulated (slow) on most CPUs: the smoke run checks the fp32 path only
        def bf16(b=b):
            with torch.autocast(device.split(':')[0], dtype=torch.bfloat16): return memorization_scores(f, g, images, n_views=5, batch_size=b)
        fns[f'bf16 B={b}'] = bf16
    log(f'scoring {n} images on {gpu_name}: {reps} interleaved rounds ...')
    with Utilisation() as busy:
        t = interleaved(fns, reps=reps, warmup=0 if smoke else 1)
    return [row('gpu', f'memorization_scores ResNet-18 32x32, K=5, {name}, {n} images, {gpu_name}', 'scoring images/s',
                n / median(ts), '', spread(ts) + (f'; {busy.describe()} over all variants' if i == 0 else ''), unit='images/s')
            for i, (name, ts) in enumerate(t.items())]


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--compile', action='store_true', help='also torch.compile the optimised loop')
    p.add_argument('--allow-cpu', action='store_true', help='without CUDA, run a tiny smoke version on the CPU')
    args = p.parse_args(argv)
    reps = args.reps or (2 if args.quick else 3)
    if torch.cuda.is_available():
        device, gpu_name, smoke = 'cuda', torch.cuda.get_device_name(0), False
        torch.backends.cudnn.benchmark = True
    elif args.allow_cpu:
        device, gpu_name, smoke, reps = 'cpu', 'CPU smoke run (not a GPU figure)', True, 1
    else:
        print('not measured: no GPU available (torch.cuda.is_available() is False); run this on a CUDA machine')
        rows = [not_measured('gpu', 'SimCLR ResNet-18 32x32, batch 512, bf16 + channels_last + GPU views', m, 'no GPU available', t)
                for m, t in (('training images/s', f'>= {3 * ANCHOR:.0f}'), ('estimated minutes for 200 epochs', f'<= {87.1 / 3:.1f}'),
                             ('GPU busy % while training', '>= 90'))]
        rows.append(not_measured('gpu', 'memorization_scores ResNet-18 32x32, K=5', 'scoring images/s', 'no GPU available'))
        return finish(rows, args, 'GPU: SimCLR training and scoring throughput')
    rows = training_rows(device, args.quick, args.compile, reps, gpu_name, smoke)
    rows += scoring_rows(device, args.quick, reps, gpu_name, smoke)
    return finish(rows, args, 'GPU: SimCLR training and scoring throughput')


if __name__ == '__main__':
    main()
