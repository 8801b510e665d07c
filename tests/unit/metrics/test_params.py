"""count_params against hand-derived counts on purpose-built modules and published counts."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torchvision
from torch import nn

from suite.errors import BenchError
from suite.metrics.params import count_params
from suite.results.schema import TiedGroup


def linear_numel(i: int, o: int, bias: bool = True) -> int:
    return i * o + (o if bias else 0)


# ----------------------------------------------------------------------------- purpose-built


class ReusedThrice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Linear(6, 6)
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        for _ in range(3):
            x = self.block(x)
        return self.head(x)


def test_module_called_three_times_counts_three_times_in_effective_once_in_unique():
    model = ReusedThrice()
    stats = count_params(model, lambda: model(torch.zeros(1, 6)))
    block, head = linear_numel(6, 6), linear_numel(6, 2)
    assert stats.unique == block + head == 56
    assert stats.effective == 3 * block + head == 140
    assert stats.uncalled == 0
    assert stats.tied == []  # a re-called module is not a tie: one name, one tensor


def test_without_forward_effective_and_uncalled_are_unknown():
    stats = count_params(ReusedThrice())
    assert stats.unique == 56
    assert stats.effective is None and stats.uncalled is None


class WithUnusedBranch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.used = nn.Linear(4, 4)
        self.unused = nn.Linear(4, 3)  # like Longformer's global projections without a global mask

    def forward(self, x):
        return self.used(x)


def test_parameters_of_modules_never_called_are_uncalled():
    model = WithUnusedBranch()
    stats = count_params(model, lambda: model(torch.zeros(2, 4)))
    assert stats.unique == linear_numel(4, 4) + linear_numel(4, 3)
    assert stats.effective == linear_numel(4, 4)
    assert stats.uncalled == linear_numel(4, 3) == 15


class TiedLM(nn.Module):
    def __init__(self, vocab: int = 11, dim: int = 5) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.decoder = nn.Linear(dim, vocab, bias=False)
        self.decoder.weight = self.embed.weight  # tied, as in BERT's MLM head

    def forward(self, ids):
        return self.decoder(self.embed(ids))


def test_tied_weights_are_listed_and_counted_once():
    model = TiedLM()
    stats = count_params(model, lambda: model(torch.zeros(1, 3, dtype=torch.long)))
    assert stats.unique == 11 * 5
    assert stats.tied == [TiedGroup(names=["decoder.weight", "embed.weight"], numel=55)]
    # Both modules run and both use the tensor: each use is counted.
    assert stats.effective == 2 * 55
    assert stats.uncalled == 0


def test_tie_between_called_and_uncalled_module_is_not_uncalled():
    model = TiedLM()
    stats = count_params(model, lambda: model.embed(torch.zeros(1, 3, dtype=torch.long)))
    assert stats.effective == 55  # only the embedding ran
    assert stats.uncalled == 0  # but its tensor is the decoder's too


def test_batchnorm_running_stats_are_buffers_not_parameters():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8))
    stats = count_params(model)
    conv, bn_affine = 8 * 3 * 3 * 3, 2 * 8
    assert stats.unique == conv + bn_affine == 232
    # running_mean + running_var (8 float32 each) + num_batches_tracked (one int64)
    assert stats.buffers == 8 + 8 + 1
    assert stats.buffer_bytes == (8 + 8) * 4 + 8
    assert stats.param_bytes == 232 * 4
    assert stats.bytes_by_dtype == {"float32": (232 + 16) * 4, "int64": 8}


def test_frozen_parameters_are_split_from_trainable():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
    for p in model[0].parameters():
        p.requires_grad_(False)
    stats = count_params(model)
    assert stats.frozen == linear_numel(10, 20) == 220
    assert stats.trainable == linear_numel(20, 3) == 63
    assert stats.unique == stats.frozen + stats.trainable


def test_bytes_by_dtype_with_a_float16_submodule():
    model = nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 4).half())
    stats = count_params(model)
    assert stats.bytes_by_dtype == {"float32": linear_numel(8, 16) * 4, "float16": linear_numel(16, 4) * 2}
    assert stats.param_bytes == 144 * 4 + 68 * 2
    assert stats.buffers == 0 and stats.buffer_bytes == 0


class ConvThenLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)  # never called by forward
        self.fc = nn.Linear(4, 6)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


def test_meta_device_gives_the_same_figures_as_cpu():
    cpu = ConvThenLinear()
    with torch.device("meta"):
        meta = ConvThenLinear()
    assert next(meta.parameters()).is_meta
    s_cpu = count_params(cpu, lambda: cpu(torch.zeros(1, 3, 8, 8)), strict=True)
    s_meta = count_params(meta, lambda: meta(torch.zeros(1, 3, 8, 8, device="meta")), strict=True)
    assert s_cpu == s_meta
    conv, fc = 4 * 3 * 3 * 3 + 4, linear_numel(4, 6)
    assert s_cpu.unique == conv + 2 * 4 + fc
    assert s_cpu.effective == conv + fc == 142
    assert s_cpu.uncalled == 2 * 4  # the BatchNorm's weight and bias


def test_forward_runs_without_grad_and_hooks_are_removed():
    model = ReusedThrice()
    seen = []

    def forward():
        seen.append(torch.is_grad_enabled())
        return model(torch.zeros(1, 6))

    count_params(model, forward)
    assert seen == [False]
    assert all(not m._forward_pre_hooks for m in model.modules())


def test_failing_forward_leaves_effective_empty_with_a_warning_and_no_hooks():
    model = ReusedThrice()

    def forward():
        return model(torch.zeros(1, 5))  # wrong width

    with pytest.warns(RuntimeWarning, match="forward pass failed"):
        stats = count_params(model, forward)
    assert stats.unique == 56 and stats.effective is None and stats.uncalled is None
    assert all(not m._forward_pre_hooks for m in model.modules())
    with pytest.raises(RuntimeError):
        count_params(model, forward, strict=True)


def test_bad_input_is_a_bench_error():
    with pytest.raises(BenchError, match="torch.nn.Module"):
        count_params("resnet18")  # type: ignore[arg-type]
    with pytest.raises(BenchError, match="callable"):
        count_params(nn.Linear(2, 2), forward=3)  # type: ignore[arg-type]
    with pytest.raises(BenchError, match="lazy"):
        count_params(nn.LazyLinear(4))


def test_importing_the_module_does_not_import_torch():
    code = "import sys, suite.metrics.params, suite.metrics.flops; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- published counts


@pytest.mark.parametrize(
    ("name", "published"),
    [("resnet18", 11_689_512), ("mobilenet_v2", 3_504_872), ("squeezenet1_0", 1_248_424)],
)
def test_torchvision_reference_counts(name, published):
    # The independent reference is torchvision's own weights metadata.
    assert torchvision.models.get_model_weights(name).DEFAULT.meta["num_params"] == published
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None)
    stats = count_params(model)
    assert stats.unique == published == stats.trainable
    assert stats.frozen == 0
    assert stats.param_bytes == 4 * published


ALL_TV = torchvision.models.list_models(module=torchvision.models)


@pytest.mark.parametrize("name", ALL_TV)
def test_every_torchvision_classifier_matches_published_num_params(name, torchvision_meta_model):
    model, weights, _crop = torchvision_meta_model(name)
    assert count_params(model).unique == weights.meta["num_params"]


ALBERT_BASE = dict(
    embedding_size=128,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    vocab_size=30000,
)


def test_albert_base_unique_and_effective():
    from transformers import AlbertConfig, AlbertModel

    with torch.device("meta"):
        model = AlbertModel(AlbertConfig(**ALBERT_BASE)).eval()
    ids = torch.zeros(1, 16, dtype=torch.long, device="meta")
    stats = count_params(model, lambda: model(input_ids=ids), strict=True)

    # One ALBERT layer, by hand: Q, K, V, output dense (768x768 + bias), FFN 768->3072->768,
    # two LayerNorms (weight + bias).
    h, i = 768, 3072
    layer = 4 * linear_numel(h, h) + linear_numel(h, i) + linear_numel(i, h) + 2 * 2 * h
    assert layer == 7_087_872
    assert stats.unique == 11_683_584
    # The one shared layer runs 12 times: 11 extra calls on top of the unique count.
    assert stats.effective == stats.unique + 11 * layer == 89_650_176
    assert stats.uncalled == 0
    assert stats.tied == []


def test_bert_base_unique():
    from transformers import BertConfig, BertModel

    with torch.device("meta"):
        model = BertModel(BertConfig()).eval()
    ids = torch.zeros(1, 16, dtype=torch.long, device="meta")
    stats = count_params(model, lambda: model(input_ids=ids), strict=True)
    assert stats.unique == 109_482_240
    # Nothing is shared in BERT and every module runs once.
    assert stats.effective == stats.unique
    assert stats.uncalled == 0
    # position_ids and token_type_ids buffers (512 int64 each).
    assert stats.buffers == 2 * 512 and stats.bytes_by_dtype["int64"] == 2 * 512 * 8
