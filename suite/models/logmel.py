"""A log-Mel spectrogram front end with no parameters (the audio lab's baseline "model").

The STFT is a strided Conv1d with a fixed windowed DFT basis held in buffers, so the front
end exports to ONNX everywhere and its FLOPs are counted like any convolution. Mel filters
use the HTK mel scale (as torchaudio's default and librosa's htk=True).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor, nn


def hz_to_mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_to_hz(m: float) -> float:
    return 700.0 * (10 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None) -> Tensor:
    """Triangular filters, shape (n_freqs, n_mels), un-normalised (peak 1)."""
    import torch

    f_max = f_max if f_max is not None else sample_rate / 2
    all_freqs = torch.linspace(0, sample_rate / 2, n_freqs, dtype=torch.float64, device="cpu")
    step = (hz_to_mel(f_max) - hz_to_mel(f_min)) / (n_mels + 1)
    f_pts = torch.tensor([mel_to_hz(hz_to_mel(f_min) + i * step) for i in range(n_mels + 2)],
                         dtype=torch.float64, device="cpu")
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0).to(torch.float32)


def build_logmel(sample_rate: int = 16_000, n_fft: int = 400, hop_length: int = 160, n_mels: int = 80) -> nn.Module:
    import torch
    from torch import nn

    class LogMelSpectrogram(nn.Module):
        dft_basis: Tensor  # buffers, registered below
        mel_fb: Tensor

        def __init__(self) -> None:
            super().__init__()
            n_freqs = n_fft // 2 + 1
            n = torch.arange(n_fft, dtype=torch.float64, device="cpu")
            k = torch.arange(n_freqs, dtype=torch.float64, device="cpu").unsqueeze(1)
            window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64, device="cpu")
            angle = 2 * math.pi * k * n / n_fft
            basis = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window], dim=0)
            self.register_buffer("dft_basis", basis.to(torch.float32).unsqueeze(1))  # (2F, 1, n_fft)
            self.register_buffer("mel_fb", mel_filterbank(n_freqs, n_mels, sample_rate))
            self.n_freqs = n_freqs

        def forward(self, input_values: Tensor) -> Tensor:
            x = input_values.unsqueeze(1)  # (B, 1, T)
            pad = n_fft // 2
            x = nn.functional.pad(x, (pad, pad), mode="reflect")
            spec = nn.functional.conv1d(x, self.dft_basis, stride=hop_length)  # (B, 2F, frames)
            real, imag = spec[:, : self.n_freqs], spec[:, self.n_freqs :]
            power = real * real + imag * imag
            mel = torch.matmul(power.transpose(1, 2), self.mel_fb)  # (B, frames, n_mels)
            return torch.log(mel + 1e-6)

    return LogMelSpectrogram()
