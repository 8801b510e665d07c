"""ONNX Runtime's providers and sessions: which execution providers a case asks for (CPU, XNNPACK,
CUDA, TensorRT), the session options the suite sets (threads, sequential execution, optimisation
level, the config entries it changes and the defaults it keeps) and the session itself, with its
errors sorted into unsupported operators and other session failures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from suite.backends.ort.ort_api import Session, SessionOptions
from suite.errors import BenchError, CaseError
from suite.results.schema import RuntimeSettings

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
XNNPACK = "XNNPACKExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)
# Preference order when nothing is requested. Azure (a remote-inference shim in the stock
# wheel) and other special-purpose providers are never picked on their own.
AUTO_GPU = (TENSORRT, CUDA, CPU)
AUTO_CPU = (XNNPACK, CPU)
ALIASES = {"cpu": CPU, "cuda": CUDA, "tensorrt": TENSORRT, "trt": TENSORRT, "xnnpack": XNNPACK}
OPT_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
              "all": "ORT_ENABLE_ALL"}
_NP_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
             "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int16)": "int16", "tensor(int8)": "int8",
             "tensor(uint8)": "uint8", "tensor(bool)": "bool"}


# --------------------------------------------------------------------------- providers


def resolve_provider_name(name: str) -> str:
    return ALIASES.get(name.strip().lower(), name.strip())


def choose_providers(device: str, available: Sequence[str], requested: Sequence[str] | None = None) -> list[str]:
    """The providers to ask for, best first, CPU always last as the fallback for ops a
    faster provider does not cover. `requested` names must all be available."""
    avail = list(available)
    gpu = device.startswith("cuda")
    if requested:
        chosen = [resolve_provider_name(p) for p in requested]
        missing = [p for p in chosen if p not in avail]
        if missing:
            raise BenchError(f"ONNX Runtime provider(s) {', '.join(missing)} are not available in this onnxruntime "
                             f"build; it offers: {', '.join(avail)}")
        if gpu and not any(p in GPU_PROVIDERS for p in chosen):
            raise BenchError(f"device is {device} but ort.providers ({', '.join(chosen)}) names no GPU provider "
                             f"({' or '.join(GPU_PROVIDERS)})")
    else:
        chosen = [p for p in (AUTO_GPU if gpu else AUTO_CPU) if p in avail]
        if gpu and not any(p in GPU_PROVIDERS for p in chosen):
            raise BenchError(f"device is {device} but this onnxruntime has no GPU provider (it offers "
                             f"{', '.join(avail)}); install onnxruntime-gpu (or the Jetson wheel) or run with --device cpu")
    chosen = list(dict.fromkeys(chosen))
    if CPU in avail and CPU not in chosen:
        chosen.append(CPU)
    return chosen


def provider_options(name: str, device: str, threads: int, cache_root: Path) -> dict[str, int | bool | str]:
    device_id = device_index(device)
    if name == CUDA:
        return {"device_id": device_id}
    if name == TENSORRT:
        # Engines take minutes to build: keep them beside the exports.
        return {"device_id": device_id, "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(cache_root / "tensorrt")}
    if name == XNNPACK:
        return {"intra_op_num_threads": threads}
    return {}


def device_index(device: str) -> int:
    _, _, idx = device.partition(":")
    return int(idx) if idx.isdigit() else 0


SPINNING = "session.intra_op.allow_spinning"


def config_entries(providers: Sequence[str]) -> dict[str, str]:
    """The session config entries the suite sets; every other one keeps ORT's default."""
    if XNNPACK in providers:
        # XNNPACK runs its own thread pool; ORT's spinning pool beside it steals its cores
        # (ORT's XNNPACK guide recommends turning spinning off).
        return {SPINNING: "0"}
    return {}


def session_options(threads: int, level: str, providers: Sequence[str]) -> SessionOptions:
    import onnxruntime as ort

    if level not in OPT_LEVELS:
        raise BenchError(f"ort.optimization_level '{level}' is not one of {', '.join(OPT_LEVELS)}")
    so: SessionOptions = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[level])
    # Fatal only: ORT logs warnings and run errors to stderr, which garbles the progress bar;
    # errors reach the case anyway, as the exception they raise.
    so.log_severity_level = 4
    for key, value in config_entries(providers).items():
        so.add_session_config_entry(key, value)
    return so


def session_settings(session: Session, threads: int, level: str) -> RuntimeSettings:
    """What the case's session ran under: the options `session_options` set, the providers loaded
    with their options, and the spinning default a deployment gets unless it changes it."""
    import onnxruntime as ort

    used = list(session.get_providers())
    settings = {
        "intra_op_num_threads": str(threads), "inter_op_num_threads": "1", "execution_mode": "ORT_SEQUENTIAL",
        "graph_optimization_level": OPT_LEVELS[level], "providers": ", ".join(used),
        SPINNING: "1 (ORT default: the intra-op pool spins after a run returns)",
    }
    settings.update(config_entries(used))
    options = session.get_provider_options()
    for p in used:
        if options.get(p):
            settings[f"{p} options"] = ", ".join(f"{k}={v}" for k, v in sorted(options[p].items()))
    return RuntimeSettings(runtime=f"onnxruntime {ort.__version__}", settings=settings)


def create_session(path: Path, threads: int, level: str, device: str, requested: Sequence[str] | None,
                   cache_root: Path, profile_prefix: str | None = None) -> Session:
    import onnxruntime as ort

    providers = choose_providers(device, ort.get_available_providers(), requested)
    so = session_options(threads, level, providers)
    if profile_prefix is not None:  # a second, profiled session (suite/profiling); never the timed one
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    with_opts = [(p, provider_options(p, device, threads, cache_root)) for p in providers]
    try:
        session: Session = ort.InferenceSession(str(path), so, providers=with_opts)
    except Exception as exc:
        raise classify_session_error(exc, f"creating the ONNX Runtime session for {path.name}") from exc
    used = session.get_providers()
    if device.startswith("cuda") and not any(p in GPU_PROVIDERS for p in used):
        raise CaseError("session", f"asked for {', '.join(providers)} but ONNX Runtime loaded only "
                        f"{', '.join(used)} (the GPU provider failed to initialise; check CUDA/cuDNN libraries)")
    return session


def classify_session_error(exc: BaseException, doing: str) -> CaseError:
    msg = " ".join(str(exc).split())
    if len(msg) > 800:
        msg = msg[:797] + "..."
    unsupported = type(exc).__name__ == "NotImplemented" or any(
        s in msg for s in ("is not a registered function/op", "Could not find an implementation", "NOT_IMPLEMENTED"))
    if unsupported:
        return CaseError("unsupported", f"ONNX Runtime cannot run an operator in this graph ({doing}): {msg}")
    return CaseError("session", f"ONNX Runtime failed {doing}: {type(exc).__name__}: {msg}")
