"""A test signal the package makes: a chirp with a step and a burst, the same for every build.

``sequence_signal(T, C)`` is, for ``t = i / T`` (``i = 0 .. T - 1``) and channel ``c``::

    chirp(t) = 0.6 sin(2 pi (f0 t + (f1 - f0) t^2 / 2) + c pi / 2)   f0 = 2, f1 = T / 16 cycles
    step(t)  = 0.8 where t >= 0.62, else 0
    burst(t) = 0.5 exp(-((t - 0.3) / 0.035)^2) sin(2 pi (T / 5) t)
    x = chirp + step + burst

a chirp whose frequency rises linearly from 2 to ``T / 16`` cycles over the sequence (channel
``c`` a quarter period later than channel ``c - 1``), a step up at 62 % of the way and a
Gaussian-windowed burst at ``T / 5`` cycles (2.5 samples per period) around 30 %: slow and fast
oscillation, an edge and a transient, so that a 1-D network's channels have something to show.
Computed from the formula alone (no randomness, no data file).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

STEP_AT = 0.62
BURST_AT, BURST_WIDTH = 0.3, 0.035


def sequence_signal(length: int, channels: int = 1) -> FloatArray:
    """The (length, channels) chirp + step + burst of the module docstring."""
    if length < 1 or channels < 1:
        raise ValueError(f"a test signal needs a length and channels of at least 1, got "
                         f"{length} and {channels}")
    t = np.arange(length, dtype=np.float64) / length
    f0, f1 = 2.0, max(length / 16, 2.0)
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / 2)
    shift = np.arange(channels) * np.pi / 2
    chirp = 0.6 * np.sin(phase[:, None] + shift[None, :])
    step = np.where(t >= STEP_AT, 0.8, 0.0)
    burst = (0.5 * np.exp(-(((t - BURST_AT) / BURST_WIDTH) ** 2))
             * np.sin(2 * np.pi * (length / 5) * t))
    return np.ascontiguousarray(chirp + (step + burst)[:, None])
