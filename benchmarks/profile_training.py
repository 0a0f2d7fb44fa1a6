r"""Where a `train_encoder` step goes: cProfile of SimCLR on the digits (small CNN, width 32, batch 128, 4 epochs).

Prints the wall time and the cumulative times of the parts named in benchmarks/NOTES.md: backward, the training step
(forward, views, loss), the optimizer step, the resume checkpoint and the History callback.
Run: `OMP_NUM_THREADS=1 python benchmarks/profile_training.py [--parts REGEX]` (threads: as the machine gives unless
set); `--parts` picks other functions, e.g. `--parts 'result.py.*\(to\)|module.py.*\(log\)'` for the cost of Lightning's
`self.log`.
"""
import argparse, cProfile, io, logging, pstats, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # import sslmem from this checkout
from sslmem.data import load_dataset
from sslmem.train import train_encoder

PARTS = 'fit|run_backward|training_step|adam.py.*step|save_checkpoint|on_train_epoch_end|make_views|alignment_penalty|_accumulate|_check_finite'


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--parts', default=PARTS, help='regular expression of the functions to print')
    args = p.parse_args()
    logging.getLogger('pytorch_lightning').setLevel(logging.ERROR)
    digits = load_dataset('digits')
    with tempfile.TemporaryDirectory() as d:
        train_encoder(digits, None, 'simclr', epochs=1, batch_size=128, progress=False, checkpoint_dir=f'{d}/warm')
        profile, start = cProfile.Profile(), time.time()
        profile.enable()
        train_encoder(digits, None, 'simclr', epochs=4, batch_size=128, progress=False, checkpoint_dir=f'{d}/run')
        profile.disable()
    print(f'wall {time.time() - start:.2f} s')
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats('cumulative').print_stats(args.parts)
    print(out.getvalue())


if __name__ == '__main__':
    main()
