"""One vocabulary for operators from different profilers: eager's `aten::conv2d` / `aten::relu_` and
ORT's `Conv` / `FusedConv` / `Relu` each get a common family, so one table can line them up.

The tables are small and explicit; a name in neither falls back to a keyword guess, then to "other".
"""

from __future__ import annotations

from typing import get_args

from suite.results.schema import OpFamily

FAMILIES: tuple[str, ...] = get_args(OpFamily)

_ATEN: dict[OpFamily, tuple[str, ...]] = {
    "conv": ("conv1d", "conv2d", "conv3d", "convolution", "_convolution", "conv_transpose1d", "conv_transpose2d",
             "conv_transpose3d", "mkldnn_convolution", "cudnn_convolution", "_convolution_pointwise"),
    "matmul/gemm": ("linear", "addmm", "mm", "bmm", "matmul", "baddbmm", "einsum", "scaled_dot_product_attention",
                    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
                    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention", "_linear_pointwise"),
    "activation": ("relu", "relu6", "hardtanh", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
                   "softmax", "_softmax", "log_softmax", "leaky_relu", "elu", "clamp", "clamp_min", "mish",
                   "threshold"),
    "norm": ("batch_norm", "layer_norm", "group_norm", "instance_norm", "native_batch_norm", "native_layer_norm",
             "rms_norm", "_batch_norm_impl_index", "_native_batch_norm_legit_no_training"),
    "pooling": ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
                "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d",
                "max_pool2d_with_indices", "_adaptive_avg_pool2d", "mean"),
    "elementwise": ("add", "sub", "mul", "div", "pow", "sqrt", "rsqrt", "exp", "neg", "where", "abs", "erf",
                    "masked_fill", "eq", "ne", "lt", "gt", "cumsum", "sum"),
    "memory/layout": ("flatten", "view", "reshape", "permute", "transpose", "contiguous", "cat", "stack", "split",
                      "chunk", "slice", "select", "copy_", "copy", "to", "_to_copy", "clone", "expand", "unsqueeze",
                      "squeeze", "t", "embedding", "index_select", "pad", "constant_pad_nd", "unbind", "narrow",
                      "empty", "zeros", "ones", "arange", "repeat", "gather", "unflatten", "as_strided"),
}

_ORT: dict[OpFamily, tuple[str, ...]] = {
    "conv": ("Conv", "FusedConv", "ConvTranspose", "NhwcFusedConv", "NhwcConv", "QLinearConv", "ConvInteger"),
    "matmul/gemm": ("Gemm", "MatMul", "FusedMatMul", "FusedGemm", "MatMulInteger", "QLinearMatMul",
                    "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "Attention", "MultiHeadAttention",
                    "MatMulNBits", "GroupQueryAttention"),
    "activation": ("Relu", "Clip", "Sigmoid", "Tanh", "Gelu", "FastGelu", "BiasGelu", "HardSigmoid", "HardSwish",
                   "Softmax", "LogSoftmax", "LeakyRelu", "QuickGelu", "Elu", "Selu", "Mish", "Softplus"),
    "norm": ("BatchNormalization", "LayerNormalization", "SkipLayerNormalization", "InstanceNormalization",
             "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization", "GroupNorm",
             "EmbedLayerNormalization", "GroupNormalization", "RMSNormalization"),
    "pooling": ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "QLinearGlobalAveragePool",
                "QLinearAveragePool", "LpPool", "ReduceMean", "ReduceMax"),
    "elementwise": ("Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Neg", "Where", "Equal", "Erf", "BiasAdd",
                    "Sum", "Abs", "Reciprocal", "ReduceSum", "Less", "Greater", "Not",
                    "QLinearAdd", "QLinearMul"),
    "memory/layout": ("Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Gather", "Squeeze", "Unsqueeze",
                      "Expand", "Identity", "Cast", "Shape", "ReorderInput", "ReorderOutput", "MemcpyToHost",
                      "MemcpyFromHost", "Pad", "Tile", "ConstantOfShape", "Range", "GatherElements", "ScatterND",
                      "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"),
}

# XNNPACK's operator names (ExecuTorch's ETDump inside the delegate), by their words before the "(".
_XNNPACK: dict[OpFamily, tuple[str, ...]] = {
    "conv": ("Convolution", "Deconvolution"),
    "matmul/gemm": ("Fully Connected", "Batch Matrix Multiply", "Dynamic Fully Connected"),
    "activation": ("Clamp", "ReLU", "Leaky ReLU", "Sigmoid", "Tanh", "HardSwish", "GELU", "ELU", "Softmax",
                   "Exp", "Log"),
    "pooling": ("Max Pooling", "Average Pooling", "Global Average Pooling", "Mean", "Argmax Pooling", "Sum"),
    "elementwise": ("Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Square Root",
                    "Reciprocal Square Root", "Square", "Negate", "Abs", "Squared Difference"),
    "memory/layout": ("Transpose", "Static Reshape", "Copy", "Concatenate", "Slice", "Constant Pad",
                      "Convert", "Static Transpose", "Even Split", "Static Slice", "Depth To Space",
                      "Space To Depth", "Static Resize Bilinear", "Unpooling"),
}

# OpenVINO CPU plugin node types (its performance counters) that neither table above names.
_OPENVINO: dict[OpFamily, tuple[str, ...]] = {
    "matmul/gemm": ("FullyConnected",),
    "norm": ("MVN", "NormalizeL2"),
    "elementwise": ("Eltwise",),
    "memory/layout": ("Reorder", "StridedSlice", "Broadcast", "ShapeOf", "Interpolate", "Convert"),
    "pooling": ("Pooling", "Reduce"),
}

_ATEN_FAMILY = {name: fam for fam, names in _ATEN.items() for name in names}
_ORT_FAMILY = {name: fam for fam, names in _ORT.items() for name in names}
_RUNTIME_FAMILY = {name: fam for fam, names in (*_XNNPACK.items(), *_OPENVINO.items()) for name in names}
_GUESSES: tuple[tuple[str, OpFamily], ...] = (("conv", "conv"), ("matmul", "matmul/gemm"), ("gemm", "matmul/gemm"), ("linear", "matmul/gemm"),
            ("attention", "matmul/gemm"), ("norm", "norm"), ("pool", "pooling"), ("relu", "activation"),
            ("gelu", "activation"), ("softmax", "activation"), ("copy", "memory/layout"))


def aten_base(op: str) -> str:
    """`aten::relu_` -> `relu`: the namespace and the in-place underscore dropped."""
    name = op.split("::", 1)[1] if "::" in op else op
    return name[:-1] if name.endswith("_") and not name.startswith("_") and name != "copy_" else name


def op_family(op: str) -> OpFamily:
    """The family of an operator named by torch (`aten::conv2d`), ONNX Runtime (`FusedConv`) or ExecuTorch
    (XNNPACK's `Fully Connected (NC, F32) GEMM`, a portable kernel's `native_call_cumsum.out`)."""
    xnnpack = _RUNTIME_FAMILY.get(op.split(" (", 1)[0].strip())
    if xnnpack is not None:
        return xnnpack
    if op.startswith("native_call_"):  # a portable kernel: its aten name, out variant dropped
        op = "aten::" + op[len("native_call_"):].split(".", 1)[0]
    base = op.split(" ", 1)[0]  # "Conv (NCHWc)" -> "Conv"
    if "::" in base:
        fam = _ATEN_FAMILY.get(aten_base(base))
    else:
        fam = _ORT_FAMILY.get(base) or _ATEN_FAMILY.get(aten_base(base))
    if fam is not None:
        return fam
    low = base.lower()
    for word, guess in _GUESSES:
        if word in low:
            return guess
    return "other"
