"""Training beyond what a notebook should run: DDP across processes."""
import torch
import pytest

from sslmem.data import load_dataset
from sslmem.probe import knn_accuracy
from sslmem.models import make_encoder
from sslmem.train import train_encoder


def test_ddp_on_two_cpu_processes(tmp_path):
    "Lightning's DDP (spawned processes, gloo) trains an encoder that classifies held-out digits."
    train, test = load_dataset('digits'), load_dataset('digits', split='test')
    encoder = train_encoder(train, method='simclr', epochs=3, batch_size=128, backbone_kwargs=dict(width=8), seed=0,
                            accelerator='cpu', devices=2, strategy='ddp_spawn', checkpoint_dir=tmp_path,
                            eval_data=(train, test), progress=False)
    start = make_encoder('small_cnn', in_chans=1, img_size=8, seed=0, width=8)
    changed = [k for k, v in start.state_dict().items() if v.is_floating_point() and not torch.equal(v, encoder.state_dict()[k])]
    assert changed, 'the weights came back from the worker processes'
    assert encoder.history.epoch.tolist() == [1, 2, 3]  # rank 0 kept the history
    assert encoder.history.loss.iloc[-1] < encoder.history.loss.iloc[0]
    assert knn_accuracy(encoder, train, test, k=20) > 0.8  # usable: far above chance (0.1)
    assert (tmp_path / 'encoder.safetensors').exists()
