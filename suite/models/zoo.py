"""The seed model zoo: every model in the lab handouts, built offline from configs that match
the named checkpoints (random weights unless --pretrained). Each model is registered beside its
builder (`register_model`, after timm); importing `suite.models` imports this module.

Reference parameter counts are from torchvision's weight metadata, the UNet repository and
checked counts in NOTES.md; tests compare the suite's counts against them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from suite.models.digits import build as build_digits
from suite.models.entry import Builder, ModelEntry
from suite.models.generic import (
    build_torchvision,
    build_transformers,
    load_state_dict_url,
)
from suite.models.inputs import InputSpec, TensorSpec, audio_spec, image_spec, text_spec
from suite.models.logmel import build_logmel
from suite.models.registry import register_model
from suite.models.unet import UNET_WEIGHTS_URL, build_unet

if TYPE_CHECKING:
    from torch import nn

# ----------------------------------------------------------------------------- torchvision

# Published counts: torchvision weights meta (num_params).
_TV = {
    "resnet18": 11_689_512,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_small": 2_542_856,
    "squeezenet1_0": 1_248_424,
    "vgg16": 138_357_544,
}


def _torchvision(name: str) -> Builder:
    def build(pretrained: bool) -> nn.Module:
        return build_torchvision(name, pretrained)

    return build


for _name, _params in _TV.items():
    register_model(ModelEntry(
        name=_name, source="registry", modality="image", input_spec=image_spec(224),
        builder=_torchvision(_name), description=f"torchvision {_name} (ImageNet classifier)",
        reference_params=_params, tags=("cnn", "vision", "lab1"), extra={"torchvision": _name},
    ))
del _name, _params

# ----------------------------------------------------------------------------- our own modules

UNET_SPEC = InputSpec(
    modality="image", tensors=(TensorSpec("x", ("batch", 3, "resolution", "resolution")),),
    size_axis="resolution", default_size=256, min_size=16, size_multiple=16,
)


@register_model(name="unet", modality="image", input_spec=UNET_SPEC,
                description="brain-segmentation UNet (mateuszbuda; in 3, out 1, init_features 32)",
                reference_params=7_763_041, tags=("cnn", "segmentation", "lab1"),
                extra={"weights_url": "suite.models.unet:UNET_WEIGHTS_URL"})
def unet(pretrained: bool) -> nn.Module:
    model = build_unet(3, 1, 32)
    if pretrained:
        model.load_state_dict(load_state_dict_url(UNET_WEIGHTS_URL, "unet"))
    return model


@register_model(name="logmel", modality="audio", input_spec=audio_spec(1.0),
                description="log-Mel spectrogram front end (80 mels, 25 ms / 10 ms; no parameters)",
                reference_params=0, tags=("audio", "lab-audio", "no-params"), pretrained_available=False)
def logmel(pretrained: bool) -> nn.Module:
    return build_logmel()


# ----------------------------------------------------------------------------- transformers (from configs)


def _hf(model_cls: str, config_cls: str, checkpoint: str, **config_kwargs: object) -> Builder:
    def build(pretrained: bool) -> nn.Module:
        return build_transformers(model_cls, config_cls, checkpoint if pretrained else None, config_kwargs)

    build.checkpoint = checkpoint  # type: ignore[attr-defined]
    return build


def _register_hf(name: str, modality: str, input_spec: InputSpec, builder: Builder, description: str, *,
                 reference_params: int | None = None, tags: tuple[str, ...] = ()) -> None:
    register_model(ModelEntry(name=name, source="registry", modality=modality, input_spec=input_spec,
                              builder=builder, description=description, reference_params=reference_params, tags=tags,
                              extra={"hf_checkpoint": getattr(builder, "checkpoint", None)}))


ALBERT_BASE = dict(embedding_size=128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                   intermediate_size=3072, vocab_size=30000)
LONGFORMER_BASE = dict(vocab_size=50265, max_position_embeddings=4098, type_vocab_size=1,
                       attention_window=512, pad_token_id=1, bos_token_id=0, eos_token_id=2)

# Published counts: NOTES.md.
_register_hf(
    "bert-base-uncased", "text", text_spec(30522, 128, 512, token_types=True),
    _hf("BertModel", "BertConfig", "bert-base-uncased"),
    "BERT base, uncased (12 layers, hidden 768)", reference_params=109_482_240,
    tags=("transformer", "nlp", "lab1"),
)
_register_hf(
    "albert-base-v2", "text", text_spec(30000, 128, 512, token_types=True),
    _hf("AlbertModel", "AlbertConfig", "albert-base-v2", **ALBERT_BASE),
    "ALBERT base v2 (one layer shared 12 times)", reference_params=11_683_584,
    tags=("transformer", "nlp", "lab1", "shared-params"),
)
_register_hf(
    "distilbert-base-uncased", "text", text_spec(30522, 128, 512),
    _hf("DistilBertModel", "DistilBertConfig", "distilbert-base-uncased"),
    "DistilBERT base, uncased (6 layers)", reference_params=66_362_880,
    tags=("transformer", "nlp", "lab1"),
)
_register_hf(
    "longformer-base-4096", "text", text_spec(50265, 512, 4096),
    _hf("LongformerModel", "LongformerConfig", "allenai/longformer-base-4096", **LONGFORMER_BASE),
    "Longformer base (window 512, up to 4096 tokens); ONNX export is known to fail",
    reference_params=148_659_456, tags=("transformer", "nlp", "lab1", "long-context"),
)
_register_hf(
    "hubert-base", "audio", audio_spec(1.0), _hf("HubertModel", "HubertConfig", "facebook/hubert-base-ls960"),
    "HuBERT base (16 kHz audio -> embeddings)", reference_params=94_371_712,
    tags=("transformer", "audio", "lab-audio"),
)
_register_hf(
    "wav2vec2-base", "audio", audio_spec(1.0), _hf("Wav2Vec2Model", "Wav2Vec2Config", "facebook/wav2vec2-base"),
    "wav2vec 2.0 base (16 kHz audio -> embeddings)", reference_params=94_371_712,
    tags=("transformer", "audio", "lab-audio"),
)
_register_hf(
    "visualbert", "multimodal",
    InputSpec(
        modality="multimodal",
        tensors=text_spec(30522, 32, 512, token_types=True).tensors + (
            TensorSpec("visual_embeds", ("batch", "regions", 2048)),
            TensorSpec("visual_attention_mask", ("batch", "regions"), "int64", "ones"),
            TensorSpec("visual_token_type_ids", ("batch", "regions"), "int64", "ones"),
        ),
        size_axis="seq_len", default_size=32, fixed={"regions": 36}, min_size=1, max_size=476,
    ),
    _hf("VisualBertModel", "VisualBertConfig", "uclanlp/visualbert-vqa-coco-pre", visual_embedding_dim=2048),
    "VisualBERT (COCO pre-training config; 36 region features of 2048)",
    tags=("transformer", "vision-language", "lab-vl"),
)
_register_hf(
    "lxmert", "multimodal",
    InputSpec(
        modality="multimodal",
        tensors=(
            TensorSpec("input_ids", ("batch", "seq_len"), "int64", "tokens", low=1000, high=30522),
            TensorSpec("attention_mask", ("batch", "seq_len"), "int64", "ones"),
            TensorSpec("visual_feats", ("batch", "regions", 2048)),
            TensorSpec("visual_pos", ("batch", "regions", 4), kind="uniform"),
        ),
        size_axis="seq_len", default_size=20, fixed={"regions": 36}, min_size=1, max_size=512,
    ),
    _hf("LxmertModel", "LxmertConfig", "unc-nlp/lxmert-base-uncased"),
    "LXMERT base (9 language, 5 vision, 5 cross layers; 36 regions)",
    tags=("transformer", "vision-language", "lab-vl"),
)

# ----------------------------------------------------------------------------- real weights, offline

DIGITS_SPEC = image_spec(8, channels=1, min_size=2)


def _digits(name: str) -> Builder:
    def build(pretrained: bool) -> nn.Module:
        return build_digits(name, pretrained)

    return build


for _name, _desc, _params in (
    ("digits-cnn", "small CNN for the 8x8 digits, trained here on their training split (98% held-out top-1)", 6_090),
    ("digits-cnn-small", "the same CNN at a quarter of the width (fewer parameters, 97% held-out top-1)", 666),
):
    register_model(ModelEntry(
        name=_name, source="registry", modality="image", input_spec=DIGITS_SPEC, builder=_digits(_name),
        description=_desc, reference_params=_params, tags=("cnn", "vision", "lab2", "trained"),
        extra={"normalisation": "suite.models.digits:normalisation", "num_classes": 10},
    ))
del _name, _desc, _params
