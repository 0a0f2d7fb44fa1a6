"""Real data sets through sslmem.data's torchvision code, on fixture files in their real layouts."""
import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

import sslmem.data
from sslmem.data import load_dataset, make_splits, Splits
from fixtures import write_cifar, write_svhn, write_stl10, write_image_folder, write_idx, poison_pickle


@pytest.mark.parametrize('name', ['cifar10', 'cifar100'])
def test_cifar_layout(tmp_path, name):
    written = write_cifar(tmp_path, name)
    for split in ('train', 'test'):
        data = load_dataset(name, root=tmp_path, split=split, verify=False)
        images, labels, coarse = written[split]
        assert data.images.dtype == torch.uint8 and data.images.shape == (len(images), 3, 32, 32)
        assert torch.equal(data.images, torch.from_numpy(images))
        assert data.labels.tolist() == labels.tolist()
        if name == 'cifar100':
            assert data.coarse_labels.tolist() == coarse.tolist()
            assert data.coarse_classes[:2] == ['coarse0', 'coarse1']
        else:
            assert data.coarse_labels is None and data.classes[0] == 'class0'


def test_cifar_md5_is_checked_by_default(tmp_path):
    write_cifar(tmp_path, 'cifar10')
    with pytest.raises(FileNotFoundError, match='not found \\(or is corrupted\\)'):
        load_dataset('cifar10', root=tmp_path)  # fixture files cannot match the real MD5 sums


def test_missing_dataset_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as e: load_dataset('cifar100', root=tmp_path / 'nowhere')
    assert 'cifar-100-python/' in str(e.value) and 'download=True' in str(e.value) and 'nowhere' in str(e.value)
    assert 'download=True (sslmem run: --download)' in str(e.value) and 'root= (--root)' in str(e.value)


def test_svhn_layout(tmp_path):
    written = write_svhn(tmp_path)
    data = load_dataset('svhn', root=tmp_path, split='test', verify=False)
    assert torch.equal(data.images, torch.from_numpy(written['test'][0]))
    assert data.labels.tolist() == written['test'][1].tolist()  # SVHN's label 10 is the digit 0


def test_stl10_layout(tmp_path):
    written = write_stl10(tmp_path)
    data = load_dataset('stl10', root=tmp_path, split='train', verify=False, size=32)
    assert data.images.shape == (4, 3, 32, 32)
    assert data.labels.tolist() == written['train'][1].tolist()
    full = load_dataset('stl10', root=tmp_path, split='test', verify=False)
    assert torch.equal(full.images, torch.from_numpy(written['test'][0]))
    unlabeled = load_dataset('stl10', root=tmp_path, split='unlabeled', verify=False)
    assert (unlabeled.labels == -1).all()


def test_cifar_splits_draw_extra_from_test(tmp_path):
    write_cifar(tmp_path, 'cifar10', n=20)
    train = load_dataset('cifar10', root=tmp_path, verify=False)
    test = load_dataset('cifar10', root=tmp_path, split='test', verify=False)
    splits = make_splits(train, test)
    assert splits.extra_from == 'test' and splits.sizes() == dict(shared=80, candidate=10, independent=10, extra=10)
    path = tmp_path / 'splits.json'
    splits.save(path)
    with pytest.raises(ValueError, match='this split was made for cifar10'):
        Splits.load(path, load_dataset('digits'))


def test_image_folder_converts_and_resizes(tmp_path):
    write_image_folder(tmp_path)
    Image.new('L', (12, 12), 128).save(tmp_path / 'cat' / 'grey.png')
    Image.new('RGBA', (16, 8), (10, 20, 30, 40)).save(tmp_path / 'dog' / 'rgba.png')
    data = load_dataset('folder', root=tmp_path, size=16)
    assert data.images.shape == (8, 3, 16, 16) and data.classes == ['cat', 'dog']
    assert data.labels.tolist() == [0] * 4 + [1] * 4
    grey = data.images[data.labels == 0][-1]
    assert (grey == 128).all()  # a grey image becomes RGB with equal channels
    single = load_dataset('folder', root=tmp_path, size=16, channels=1)
    assert single.images.shape == (8, 1, 16, 16)


def test_image_folder_bad_files_fail_or_skip(tmp_path):
    write_image_folder(tmp_path)
    (tmp_path / 'cat' / 'empty.png').write_bytes(b'')
    good = (tmp_path / 'dog' / '0.png').read_bytes()
    (tmp_path / 'dog' / 'truncated.png').write_bytes(good[:len(good) // 2])
    with pytest.raises(ValueError) as e: load_dataset('folder', root=tmp_path)
    message = str(e.value)
    assert '2 of 8 files' in message and 'empty.png' in message and 'truncated.png' in message
    assert 'pass skip_bad=True (sslmem run: --skip-bad)' in message
    with pytest.warns(UserWarning, match='skipped 2 of 8'):
        data = load_dataset('folder', root=tmp_path, skip_bad=True)
    assert len(data) == 6


def test_image_folder_huge_image_is_resized(tmp_path):
    (tmp_path / 'big').mkdir()
    Image.new('RGB', (6000, 4000), (200, 100, 50)).save(tmp_path / 'big' / 'huge.jpg', quality=80)
    data = load_dataset('folder', root=tmp_path, size=32)
    assert data.images.shape == (1, 3, 32, 32)
    assert abs(int(data.images[0, 0].float().mean()) - 200) <= 3


def test_image_folder_split_subfolders(tmp_path):
    write_image_folder(tmp_path / 'train')
    write_image_folder(tmp_path / 'test', sizes=((8, 8),))
    assert len(load_dataset('folder', root=tmp_path, split='test')) == 2
    with pytest.raises(FileNotFoundError, match="no image folder for split 'val'"):
        load_dataset('folder', root=tmp_path, split='val')


@pytest.mark.parametrize('name, folder', [('mnist', 'MNIST'), ('fashion_mnist', 'FashionMNIST')])
@pytest.mark.parametrize('gz', [True, False])
def test_idx_torchvision_layout(tmp_path, name, folder, gz):
    written = write_idx(tmp_path / folder / 'raw', gz=gz)
    for split in ('train', 'test'):
        data = load_dataset(name, root=tmp_path, split=split)
        images, labels = written[split]
        assert data.images.dtype == torch.uint8 and data.images.shape == (len(images), 1, 28, 28)
        assert torch.equal(data.images[:, 0], torch.from_numpy(images))
        assert data.labels.tolist() == labels.tolist() and len(data.classes) == 10
    assert load_dataset(name, root=tmp_path, size=16).images.shape == (7, 1, 16, 16)


def test_idx_class_names(tmp_path):
    write_idx(tmp_path / 'FashionMNIST' / 'raw')
    write_idx(tmp_path / 'MNIST' / 'raw')
    assert load_dataset('fashion_mnist', root=tmp_path).classes[:3] == ['T-shirt/top', 'Trouser', 'Pullover']
    assert load_dataset('mnist', root=tmp_path).classes == [str(d) for d in range(10)]


def no_system_copy(tmp_path):
    "Pretend Debian's Fashion-MNIST is not installed."
    return mock.patch.dict(sslmem.data._IDX, fashion_mnist=('FashionMNIST', tmp_path / 'not-installed', 'dataset-fashion-mnist'))


def test_idx_falls_back_to_the_system_copy(tmp_path):
    system = tmp_path / 'usr-share-datasets-fashion-mnist'
    written = write_idx(system, seed=1)
    with mock.patch.dict(sslmem.data._IDX, fashion_mnist=('FashionMNIST', system, 'dataset-fashion-mnist')):
        data = load_dataset('fashion_mnist', root=tmp_path / 'empty', split='test')
        assert torch.equal(data.images[:, 0], torch.from_numpy(written['test'][0]))
        ours = write_idx(tmp_path / 'mine' / 'FashionMNIST' / 'raw', seed=2)  # root's copy comes first
        assert torch.equal(load_dataset('fashion_mnist', root=tmp_path / 'mine').images[:, 0], torch.from_numpy(ours['train'][0]))


def test_idx_missing_names_both_places_and_the_package(tmp_path):
    with no_system_copy(tmp_path), pytest.raises(FileNotFoundError) as e:
        load_dataset('fashion_mnist', root=tmp_path / 'nowhere')
    message = str(e.value)
    for part in [str((tmp_path / 'nowhere' / 'FashionMNIST' / 'raw').resolve()), str(tmp_path / 'not-installed'),
                 'apt-get install dataset-fashion-mnist', 'train-images-idx3-ubyte', 'download=True', '--download', '--root']:
        assert part in message, part
    with pytest.raises(FileNotFoundError) as e: load_dataset('mnist', root=tmp_path / 'nowhere', split='test')
    assert 'MNIST/raw' in str(e.value) and 't10k-labels-idx1-ubyte' in str(e.value) and 'apt-get' not in str(e.value)


def test_idx_damaged_files_are_named(tmp_path):
    raw = tmp_path / 'MNIST' / 'raw'
    write_idx(raw, gz=False)
    images = raw / 'train-images-idx3-ubyte'
    images.write_bytes(images.read_bytes()[:-10])  # truncated
    with pytest.raises(ValueError, match='train-images-idx3-ubyte is not an idx file of images'):
        load_dataset('mnist', root=tmp_path)
    (raw / 't10k-labels-idx1-ubyte').unlink()
    with pytest.raises(FileNotFoundError, match='holds t10k-images-idx3-ubyte but not the labels'):
        load_dataset('mnist', root=tmp_path, split='test')


def test_idx_download_goes_through_torchvision(tmp_path):
    "download=True asks torchvision to fetch the files into root/<folder>/raw, then reads them like any others."
    import torchvision.datasets as tvd
    written = {}
    def fake_download(ds): written.update(write_idx(ds.raw_folder, gz=False))  # what torchvision's download leaves
    with no_system_copy(tmp_path), mock.patch.object(tvd.MNIST, 'download', fake_download):
        data = load_dataset('fashion_mnist', root=tmp_path, download=True)
    assert torch.equal(data.images[:, 0], torch.from_numpy(written['train'][0]))


DEBIAN_FASHION = Path('/usr/share/datasets/fashion-mnist')


@pytest.fixture
def debian_fashion():
    "The real files of Debian's dataset-fashion-mnist: skipped with the reason where missing, but never under CI."
    if (DEBIAN_FASHION / 'train-images-idx3-ubyte.gz').exists(): return DEBIAN_FASHION
    reason = f"Fashion-MNIST is not installed in {DEBIAN_FASHION} (apt-get install dataset-fashion-mnist)"
    if os.environ.get('CI') == 'true': pytest.fail(f"{reason}; CI installs it (.ci/run) and must run this test")
    pytest.skip(reason)


def test_fashion_mnist_real_files(debian_fashion, tmp_path):
    train = load_dataset('fashion_mnist', root=tmp_path)
    test = load_dataset('fashion_mnist', root=tmp_path, split='test', size=16)
    assert (len(train), train.size, len(test), test.size) == (60000, (28, 28), 10000, (16, 16))
    assert train.labels.bincount().tolist() == [6000] * 10 and test.labels.bincount().tolist() == [1000] * 10
    assert abs(train.images.float().mean().item() / 255 - 0.2860) < 5e-4  # the published mean grey level
    assert train.classes[-1] == 'Ankle boot'


def test_fashion_mnist_real_files_in_torchvision_layout(debian_fashion, tmp_path):
    "The same files copied into root/FashionMNIST/raw, gzipped or not, read the same."
    import gzip
    raw = tmp_path / 'FashionMNIST' / 'raw'
    raw.mkdir(parents=True)
    for f in debian_fashion.glob('t10k-*.gz'): (raw / f.stem).write_bytes(gzip.decompress(f.read_bytes()))
    ours = load_dataset('fashion_mnist', root=tmp_path, split='test')
    assert torch.equal(ours.images, load_dataset('fashion_mnist', root=tmp_path / 'empty', split='test').images)


@pytest.mark.parametrize('name, target', [('cifar10', 'cifar-10-batches-py/data_batch_2'), ('cifar10', 'cifar-10-batches-py/batches.meta'),
                                          ('cifar100', 'cifar-100-python/train'), ('cifar100', 'cifar-100-python/meta')])
def test_cifar_pickled_code_never_runs(tmp_path, name, target):
    "A batch whose unpickling would run code (here: write a marker file) is refused, with verify=False too."
    write_cifar(tmp_path / 'data', name)
    marker = tmp_path / 'pickled-code-ran'
    poison_pickle(tmp_path / 'data' / target, marker)
    for verify in (False, True):
        with pytest.raises((ValueError, FileNotFoundError)) as e:
            load_dataset(name, root=tmp_path / 'data', verify=verify)
        assert not marker.exists(), 'unpickling ran code'
    with pytest.raises(ValueError) as e: load_dataset(name, root=tmp_path / 'data', verify=False)
    assert target.split('/')[-1] in str(e.value) and 'holds a pickled builtins.exec: refused' in str(e.value)
    assert not marker.exists()


@pytest.mark.parametrize('suffix', ['png', 'tif'])
def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path, suffix):
    (tmp_path / 'grey').mkdir()
    levels = np.arange(256).reshape(16, 16)
    im = Image.fromarray((levels * 257).astype(np.uint16 if suffix == 'png' else np.int32))  # I;16 / I
    im.save(tmp_path / 'grey' / f'gradient.{suffix}')
    with Image.open(tmp_path / 'grey' / f'gradient.{suffix}') as back: assert back.mode == ('I;16' if suffix == 'png' else 'I')
    grey = load_dataset('folder', root=tmp_path, size=16, channels=1).images[0, 0]
    assert grey.tolist() == levels.tolist()  # 65535 -> 255, 257 -> 1: every level kept
    rgb = load_dataset('folder', root=tmp_path, size=16).images[0]
    assert (rgb == grey).all()


def test_long_strip_costs_its_pixels_not_its_aspect_ratio(tmp_path):
    "A 1 x 600,000 PNG (1.8 KB) is cropped to its central square before resizing; it loads at once."
    (tmp_path / 'strip').mkdir()
    Image.new('RGB', (600_000, 1), (200, 100, 50)).save(tmp_path / 'strip' / 'strip.png')
    assert (tmp_path / 'strip' / 'strip.png').stat().st_size < 4000
    import torchvision.transforms.v2.functional as TF
    resize, seen = TF.resize, []
    def spy(x, *args, **kwargs): seen.append(tuple(x.shape)); return resize(x, *args, **kwargs)
    with mock.patch.object(TF, 'resize', spy):
        data = load_dataset('folder', root=tmp_path, size=32)
    assert seen == [(3, 1, 1)]  # the old code resized the whole strip, to 3 x 32 x 19,200,000
    assert data.images.shape == (1, 3, 32, 32) and data.images[0, :, 0, 0].tolist() == [200, 100, 50]


def test_max_pixels_refuses_from_the_header(tmp_path):
    (tmp_path / 'strip').mkdir()
    Image.new('L', (600_000, 1), 7).save(tmp_path / 'strip' / 'strip.png')
    write_image_folder(tmp_path, sizes=((40, 30),), classes=('cat',))
    from PIL import ImageFile
    load, decoded = ImageFile.ImageFile.load, []
    def spy(self): decoded.append(self.size); return load(self)
    with mock.patch.object(ImageFile.ImageFile, 'load', spy), pytest.raises(ValueError) as e:
        load_dataset('folder', root=tmp_path, max_pixels=100_000)
    assert decoded == [(40, 30)]  # the strip was refused from its header, never decoded
    message = str(e.value)
    assert '1 of 2 files' in message and 'strip.png (600000 x 1 = 600,000 pixels, more than max_pixels=100,000' in message
    assert 'raise max_pixels= (sslmem run: --max-pixels) to read it' in message
    with pytest.warns(UserWarning, match='skipped 1 of 2'):
        assert len(load_dataset('folder', root=tmp_path, max_pixels=100_000, skip_bad=True)) == 1
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # PIL's own limit is left as it was


def test_max_pixels_can_be_raised_past_pils_limit(tmp_path):
    "max_pixels is the one limit: raised, it lets through what PIL alone refuses (more than twice its limit)."
    (tmp_path / 'big').mkdir()
    Image.new('L', (300, 100), 9).save(tmp_path / 'big' / 'wide.png')
    with mock.patch.object(Image, 'MAX_IMAGE_PIXELS', 10_000):
        with pytest.raises(Image.DecompressionBombError): Image.open(tmp_path / 'big' / 'wide.png')
        with pytest.raises(ValueError, match='30,000 pixels, more than max_pixels=10,000'): load_dataset('folder', root=tmp_path)
        assert load_dataset('folder', root=tmp_path, max_pixels=30_000, size=8).images.unique().tolist() == [9]


@pytest.mark.parametrize('kwargs, message', [
    (dict(size=0), 'size= (sslmem run: --size) must be a positive whole number of pixels, not 0'),
    (dict(size=2.5), 'size= (sslmem run: --size)'),
    (dict(max_pixels=-1), 'max_pixels= (sslmem run: --max-pixels) must be a positive whole number'),
])
def test_bad_sizes_are_refused_before_loading(kwargs, message):
    with pytest.raises(ValueError, match=message.replace('(', '\\(').replace(')', '\\)')):
        load_dataset('digits', **kwargs)


def test_folder_without_root_names_both_spellings():
    with pytest.raises(ValueError, match='needs root= \\(sslmem run: --root\\)'): load_dataset('folder')
