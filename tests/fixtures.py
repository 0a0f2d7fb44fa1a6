"""Tiny data sets written in the real on-disk layouts that torchvision reads.

Each writer makes `n` random images per split with known labels, so a test can load them through
`sslmem.data.load_dataset` (torchvision's classes, with `verify=False` since the MD5 sums of real
files cannot match) and compare pixels and labels with what it wrote.
"""
import pickle
from pathlib import Path

import numpy as np


def _rng(seed=0): return np.random.default_rng(seed)


def write_cifar(root, name='cifar10', n=6, seed=0):
    "cifar-10-batches-py/ or cifar-100-python/: pickled dicts of flattened CHW uint8 rows. Returns what was written."
    rng = _rng(seed)
    folder = Path(root) / ('cifar-10-batches-py' if name == 'cifar10' else 'cifar-100-python')
    folder.mkdir(parents=True, exist_ok=True)
    files = ([f'data_batch_{i}' for i in range(1, 6)], ['test_batch']) if name == 'cifar10' else (['train'], ['test'])
    written = {}
    for split, names in zip(('train', 'test'), files):
        images, labels, coarse = [], [], []
        for fname in names:
            x = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
            entry = {'data': x}
            if name == 'cifar10': entry['labels'] = rng.integers(0, 10, n).tolist()
            else: entry['fine_labels'], entry['coarse_labels'] = rng.integers(0, 100, n).tolist(), rng.integers(0, 20, n).tolist()
            with open(folder / fname, 'wb') as f: pickle.dump(entry, f)
            images.append(x.reshape(n, 3, 32, 32)); labels += entry.get('labels', entry.get('fine_labels'))
            coarse += entry.get('coarse_labels', [])
        written[split] = (np.concatenate(images), np.array(labels), np.array(coarse))
    if name == 'cifar10': meta_name, meta = 'batches.meta', {'label_names': [f'class{i}' for i in range(10)]}
    else: meta_name, meta = 'meta', {'fine_label_names': [f'fine{i}' for i in range(100)], 'coarse_label_names': [f'coarse{i}' for i in range(20)]}
    with open(folder / meta_name, 'wb') as f: pickle.dump(meta, f)
    return written


def write_svhn(root, n=5, seed=0):
    "train_32x32.mat and test_32x32.mat: X as [32, 32, 3, N] uint8, y in 1..10 with 10 meaning digit 0."
    from scipy.io import savemat
    rng, written = _rng(seed), {}
    Path(root).mkdir(parents=True, exist_ok=True)
    for split in ('train', 'test'):
        x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        digits = rng.integers(0, 10, n)
        savemat(Path(root) / f'{split}_32x32.mat', {'X': x.transpose(2, 3, 1, 0), 'y': np.where(digits == 0, 10, digits)[:, None]})
        written[split] = (x, digits)
    return written


def write_stl10(root, n=4, seed=0):
    "stl10_binary/: column-major 3x96x96 uint8 images in .bin files, labels 1..10 in .bin files."
    rng, written = _rng(seed), {}
    folder = Path(root) / 'stl10_binary'
    folder.mkdir(parents=True, exist_ok=True)
    for split in ('train', 'test', 'unlabeled'):
        x = rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)
        x.transpose(0, 1, 3, 2).tofile(folder / f'{split}_X.bin')  # STL-10 stores each channel column-major
        labels = rng.integers(0, 10, n)
        if split != 'unlabeled': (labels + 1).astype(np.uint8).tofile(folder / f'{split}_y.bin')
        written[split] = (x, labels if split != 'unlabeled' else np.full(n, -1))
    (folder / 'class_names.txt').write_text('\n'.join(f'class{i}' for i in range(10)))
    (folder / 'fold_indices.txt').write_text('\n'.join(' '.join(map(str, range(i, n, 2))) for i in range(10)))
    return written


def write_image_folder(root, sizes=((40, 30), (20, 50), (32, 32)), classes=('cat', 'dog'), seed=0):
    "An ImageFolder tree root/<class>/<i>.png of RGB images of several sizes."
    from PIL import Image
    rng, paths = _rng(seed), []
    for c in classes:
        (Path(root) / c).mkdir(parents=True, exist_ok=True)
        for i, (w, h) in enumerate(sizes):
            p = Path(root) / c / f'{i}.png'
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
            paths.append(p)
    return paths


def _idx_bytes(array):
    "An idx file's bytes: magic (0, 0, type 0x08 = uint8, number of dimensions), big-endian int32 sizes, the data."
    import struct
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return struct.pack('>BBBB', 0, 0, 0x08, array.ndim) + struct.pack(f'>{array.ndim}I', *array.shape) + array.tobytes()


def write_idx(folder, n=(7, 5), size=(28, 28), gz=True, n_classes=10, seed=0):
    "The four idx files of MNIST/Fashion-MNIST in `folder` (gzipped or not): n train and test images. Returns what was written."
    import gzip
    rng, written = _rng(seed), {}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, prefix, count in (('train', 'train', n[0]), ('test', 't10k', n[1])):
        images = rng.integers(0, 256, (count, *size), dtype=np.uint8)
        labels = rng.integers(0, n_classes, count, dtype=np.uint8)
        for kind, array in (('images-idx3', images), ('labels-idx1', labels)):
            data, name = _idx_bytes(array), f'{prefix}-{kind}-ubyte'
            if gz: (folder / f'{name}.gz').write_bytes(gzip.compress(data))
            else: (folder / name).write_bytes(data)
        written[split] = (images, labels)
    return written


class _WritesMarker:
    "Unpickling this runs code: it writes `marker`. A stand-in for a malicious pickle."
    def __init__(self, marker): self.marker = str(marker)
    def __reduce__(self): return exec, (f"open({self.marker!r}, 'w').write('pickled code ran')",)


def poison_pickle(path, marker):
    "Add to the pickled dict at `path` (a file a fixture wrote) an object whose unpickling writes `marker`."
    with open(path, 'rb') as f: entry = pickle.load(f)
    entry['payload'] = _WritesMarker(marker)
    with open(path, 'wb') as f: pickle.dump(entry, f)
