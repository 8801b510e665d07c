"""count_flops against hand-derived counts and torchvision's published GMACs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from suite.errors import BenchError, CaseError, UnknownModelError
from suite.metrics.flops import (
    count_flops,
    register_cpu_sdpa_formula,
)
from suite.results.schema import ModuleFlops

SDPA_CPU = "aten._scaled_dot_product_flash_attention_for_cpu"


# ----------------------------------------------------------------------------- hand-derived


def test_conv2d_macs_by_hand():
    conv = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1)
    x = torch.randn(2, 3, 16, 16)
    stats = count_flops(conv, lambda: conv(x), items=2)
    # Per image: every output element (16 x 16 x 8) is a dot product over in_c x k x k = 3 x 3 x 3.
    macs_per_image = 16 * 16 * 8 * 3 * 3 * 3
    assert macs_per_image == 55_296
    assert stats.macs == 2 * macs_per_image
    assert stats.flops == 2 * stats.macs
    assert stats.flops_per_item == 2 * macs_per_image
    assert stats.by_operator == {"aten.convolution": stats.flops}
    assert stats.top_modules == [ModuleFlops(module="Conv2d", flops=stats.flops)]
    assert stats.note is None


def test_strided_conv_macs_by_hand():
    conv = nn.Conv2d(4, 6, kernel_size=5, stride=2, padding=0, bias=False)
    stats = count_flops(conv, lambda: conv(torch.randn(1, 4, 21, 21)), items=1)
    out = (21 - 5) // 2 + 1  # 9
    assert stats.macs == out * out * 6 * 4 * 5 * 5 == 48_600


@pytest.mark.parametrize(("bias", "op"), [(True, "aten.addmm"), (False, "aten.mm")])
def test_linear_macs_by_hand(bias, op):
    fc = nn.Linear(32, 10, bias=bias)
    stats = count_flops(fc, lambda: fc(torch.randn(4, 32)), items=4)
    assert stats.macs == 4 * 32 * 10 == 1280  # bias adds are not multiply-accumulates
    assert stats.flops_per_item == 2 * 32 * 10
    assert stats.by_operator == {op: 2560}


def test_weight_norm_conv_counts_under_no_grad():
    # HuBERT / wav2vec2's positional conv is a weight-norm parametrization; FlopCounterMode
    # under inference_mode fails on it, count_flops runs under no_grad.
    conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(4, 6, kernel_size=5, padding=2))
    stats = count_flops(conv, lambda: conv(torch.randn(1, 4, 50)), items=1)
    assert stats.macs == 50 * 6 * 4 * 5 == 6000


B, H, L, D = 1, 4, 64, 8
E = H * D


class AttentionBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(E, E) for _ in range(4))

    def forward(self, x):
        def heads(t):
            return t.view(B, L, H, D).transpose(1, 2)

        y = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
        return self.o(y.transpose(1, 2).reshape(B, L, E))


# QK^T: (L x D) @ (D x L) per head; AV: (L x L) @ (L x D) per head.
ATTN_MACS = 2 * B * H * L * L * D
PROJ_MACS = B * L * E * E


def test_sdpa_on_cpu_is_counted_by_hand():
    q, k, v = (torch.randn(B, H, L, D) for _ in range(3))
    stats = count_flops(nn.Identity(), lambda: F.scaled_dot_product_attention(q, k, v), items=B)
    assert ATTN_MACS == 262_144
    assert stats.macs == ATTN_MACS
    assert stats.by_operator == {SDPA_CPU: 2 * ATTN_MACS}

    # Without the registration, torch's own counter sees nothing: this is what we fix.
    plain = FlopCounterMode(display=False)
    plain.flop_registry.pop(torch.ops.aten._scaled_dot_product_flash_attention_for_cpu, None)
    with torch.no_grad(), plain:
        F.scaled_dot_product_attention(q, k, v)
    assert plain.get_total_flops() == 0


def test_attention_block_total_and_self_flops_by_module():
    block = AttentionBlock().eval()
    x = torch.randn(B, L, E)
    stats = count_flops(block, lambda: block(x), items=B)
    assert stats.macs == 4 * PROJ_MACS + ATTN_MACS == 524_288
    assert stats.by_operator == {SDPA_CPU: 2 * ATTN_MACS, "aten.addmm": 2 * 4 * PROJ_MACS}
    # Self FLOPs: the block's own work is the SDPA call, each projection is its own leaf.
    assert stats.top_modules == [
        ModuleFlops(module="AttentionBlock", flops=2 * ATTN_MACS),
        *(ModuleFlops(module=f"AttentionBlock.{n}", flops=2 * PROJ_MACS) for n in "koqv"),
    ]
    assert sum(m.flops for m in stats.top_modules) == stats.flops
    assert [m.module for m in count_flops(block, lambda: block(x), items=B, top_n=2).top_modules] == [
        "AttentionBlock",
        "AttentionBlock.k",
    ]
    assert count_flops(block, lambda: block(x), items=B, top_n=0).top_modules == []


def test_attention_block_on_meta_counts_the_same():
    # On meta, SDPA decomposes into two bmm calls instead of the CPU kernel: same total.
    cpu = AttentionBlock().eval()
    with torch.device("meta"):
        meta = AttentionBlock().eval()
    x_meta = torch.empty(B, L, E, device="meta")
    on_cpu = count_flops(cpu, lambda: cpu(torch.randn(B, L, E)), items=B)
    on_meta = count_flops(meta, lambda: meta(x_meta), items=B)
    assert on_meta.flops == on_cpu.flops
    assert on_meta.by_operator["aten.bmm"] == 2 * ATTN_MACS
    assert on_meta.top_modules == on_cpu.top_modules


def test_bert_base_on_cpu_counts_attention_by_hand():
    from transformers import BertConfig, BertModel

    cfg = BertConfig(attn_implementation="sdpa")
    torch.manual_seed(0)
    model = BertModel(cfg).eval()
    seq, h, i, layers, heads = 128, 768, 3072, 12, 12
    ids = torch.zeros(1, seq, dtype=torch.long)
    stats = count_flops(model, lambda: model(input_ids=ids), items=1)

    attention = layers * 2 * heads * seq * seq * (h // heads)
    assert attention == 301_989_888  # the 0.30 GMACs every counter misses on CPU
    linears = layers * seq * (4 * h * h + 2 * h * i) + h * h  # + the pooler on one token
    assert stats.by_operator[SDPA_CPU] == 2 * attention
    assert stats.macs == linears + attention == 11_174_215_680


def test_reused_module_accumulates_every_call():
    fc = nn.Linear(8, 8, bias=False)
    model = nn.Sequential(fc, nn.ReLU(), fc, nn.ReLU(), fc)
    stats = count_flops(model, lambda: model(torch.randn(1, 8)), items=1)
    assert stats.macs == 3 * 8 * 8
    # One module object under three names: ModuleTracker names it after its first position.
    assert stats.top_modules == [ModuleFlops(module="Sequential.0", flops=3 * 2 * 64)]


def test_flops_per_item_divides_by_the_batch():
    with torch.device("meta"):
        model = torchvision.models.resnet18().eval()
    one = count_flops(model, lambda: model(torch.empty(1, 3, 224, 224, device="meta")), items=1)
    four = count_flops(model, lambda: model(torch.empty(4, 3, 224, 224, device="meta")), items=4)
    assert four.flops == 4 * one.flops
    assert four.flops_per_item == one.flops_per_item == one.flops
    assert len(one.top_modules) == 10
    assert one.top_modules[0].module.startswith("ResNet.")


def test_no_counted_operator_leaves_a_note():
    relu = nn.ReLU()
    stats = count_flops(relu, lambda: relu(torch.randn(3, 3)), items=1)
    assert stats.flops == stats.macs == 0
    assert stats.note and "no counted operator" in stats.note
    assert stats.top_modules == []


def test_forward_runs_without_grad():
    seen = []
    fc = nn.Linear(2, 2)
    count_flops(fc, lambda: seen.append(torch.is_grad_enabled()) or fc(torch.randn(1, 2)), items=1)
    assert seen == [False]


def test_registration_is_idempotent_and_uses_the_sdpa_formula():
    from torch.utils import flop_counter

    register_cpu_sdpa_formula()
    op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    formula = flop_counter.flop_registry[op]
    assert register_cpu_sdpa_formula() is False
    assert flop_counter.flop_registry[op] is formula
    q = torch.empty(2, 3, 5, 7)
    assert formula(q, q, q, 0.0, False) == flop_counter.sdpa_flop_count(q.shape, q.shape, q.shape) == 2 * 2 * 2 * 3 * 5 * 5 * 7


def test_bad_input_is_a_bench_error_and_a_failing_forward_a_case_error():
    fc = nn.Linear(2, 2)
    ok = lambda: fc(torch.randn(1, 2))  # noqa: E731
    for items in (0, -1, 1.5, True):
        with pytest.raises(BenchError, match="items"):
            count_flops(fc, ok, items=items)  # type: ignore[arg-type]
    with pytest.raises(BenchError, match="top_n"):
        count_flops(fc, ok, items=1, top_n=-1)
    with pytest.raises(BenchError, match="Module"):
        count_flops(object(), ok, items=1)  # type: ignore[arg-type]
    with pytest.raises(BenchError, match="callable"):
        count_flops(fc, None, items=1)  # type: ignore[arg-type]
    with pytest.raises(CaseError, match="FLOP counting failed: RuntimeError") as info:
        count_flops(fc, lambda: fc(torch.randn(1, 3)), items=1)
    assert info.value.kind == "unsupported"


# ----------------------------------------------------------------------------- published GMACs


def torchvision_reference_gmacs(name: str) -> tuple[float, int] | None:
    """The independent reference: published GMACs (``meta["_ops"]``) of a torchvision model's default weights and the
    square crop size they were computed at, or None when the model has no weights enum or
    its weights publish no ``_ops``/crop size. An unknown name raises `UnknownModelError`.
    """
    from torchvision import models

    known = models.list_models()
    if name not in known:
        raise UnknownModelError(name, known)
    try:
        weights = models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError, AttributeError):
        return None
    gmacs = weights.meta.get("_ops")
    crop = getattr(weights.transforms(), "crop_size", None)
    if gmacs is None or not crop:
        return None
    size = crop[0] if isinstance(crop, (list, tuple)) else crop
    return float(gmacs), int(size)



def test_reference_gmacs_reads_the_weights_meta():
    assert torchvision_reference_gmacs("resnet18") == (1.814, 224)
    gmacs, crop = torchvision_reference_gmacs("efficientnet_b7")
    assert crop == 600 and gmacs == torchvision.models.EfficientNet_B7_Weights.DEFAULT.meta["_ops"]
    assert torchvision_reference_gmacs("vit_h_14")[1] == 518
    with pytest.raises(UnknownModelError, match="resnet18"):
        torchvision_reference_gmacs("resnet-18")


ALL_TV = torchvision.models.list_models(module=torchvision.models)


@pytest.mark.parametrize("name", ALL_TV)
def test_every_torchvision_classifier_matches_published_gmacs(name, torchvision_meta_model):
    model, _weights, crop = torchvision_meta_model(name)
    gmacs, ref_crop = torchvision_reference_gmacs(name)
    assert ref_crop == crop
    x = torch.empty(1, 3, crop, crop, device="meta")
    stats = count_flops(model, lambda: model(x), items=1)
    ratio = stats.macs / (gmacs * 1e9)
    # _ops is rounded to 3 decimals (squeezenet1_1: 0.349), so allow 2%.
    assert ratio == pytest.approx(1.0, abs=0.02), f"{name}: counted {stats.macs / 1e9:.4f} GMACs vs {gmacs}"
