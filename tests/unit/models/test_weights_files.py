"""suite.models.weights: real weights without a network. State dicts written here by torch.save
and safetensors load strictly; a pickle that would run code is refused and runs nothing; missing
published weights name the file and the place."""

from __future__ import annotations

import pickle

import pytest
import torch

from suite.errors import BenchError
from suite.models.weights import (
    check_weights_file,
    hub_checkpoint,
    load_weights,
    non_finite_tensors,
    read_state_dict,
    require_cached,
)


def _net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


def test_a_state_dict_loads_from_torch_save_a_wrapped_checkpoint_and_safetensors(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    src = _net()
    torch.save(src.state_dict(), tmp_path / "a.pt")
    torch.save({"epoch": 3, "state_dict": src.state_dict()}, tmp_path / "b.pth")
    save_file(src.state_dict(), str(tmp_path / "c.safetensors"))
    x = torch.randn(5, 3)
    for name in ("a.pt", "b.pth", "c.safetensors"):
        dst = load_weights(_net(), tmp_path / name)
        assert torch.equal(dst(x), src(x)), name


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"w": Exploit()}))
    with pytest.raises(BenchError, match=r"Cannot read the weights in .*evil.pt"):
        read_state_dict(tmp_path / "evil.pt")
    assert not marker.exists()
    pickle.loads((tmp_path / "evil.pt").read_bytes())  # the payload is live: plain unpickling runs it
    assert marker.exists()


def test_weights_that_do_not_fit_or_hold_nan_are_refused_with_counts(tmp_path):
    other = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    torch.save(other.state_dict(), tmp_path / "other.pt")
    with pytest.raises(BenchError, match=r"shape mismatch 3 \(e.g. 0.weight \[5, 3\] vs \[4, 3\]; 0.bias \[5\] vs \[4\]\)"):
        load_weights(_net(), tmp_path / "other.pt")
    state = _net().state_dict()
    state["2.bias"][0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    assert non_finite_tensors(state) == ["2.bias"]
    with pytest.raises(BenchError, match=r"NaN or infinite values in 1 tensor\(s\) \(e.g. 2.bias\)"):
        load_weights(_net(), tmp_path / "nan.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(BenchError, match="does not hold a state dict"):
        read_state_dict(tmp_path / "list.pt")


def test_the_weights_option_names_a_file_with_a_known_suffix(tmp_path):
    with pytest.raises(BenchError, match="is a folder"):
        check_weights_file(str(tmp_path), "m")
    with pytest.raises(BenchError, match="expected a state dict file ending in .pth"):
        check_weights_file(str(tmp_path / "w.txt"), "m")
    with pytest.raises(BenchError, match="no such file"):
        check_weights_file(str(tmp_path / "w.pt"), "m")
    (tmp_path / "w.PT").write_bytes(b"")
    assert check_weights_file(str(tmp_path / "w.PT"), "m") == tmp_path / "w.PT"


def test_published_weights_are_looked_for_in_torch_hubs_cache_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url = "https://download.pytorch.org/models/resnet18-f37072fd.pth?raw=1"
    assert hub_checkpoint(url) == tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(BenchError, match=r"put it at .*hub/checkpoints/resnet18-f37072fd.pth"):
        require_cached(url, "resnet18")
    hub_checkpoint(url).parent.mkdir(parents=True)
    hub_checkpoint(url).write_bytes(b"x")
    assert require_cached(url, "resnet18") == hub_checkpoint(url)
