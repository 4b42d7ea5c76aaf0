"""What the machine can do, read without importing torch."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Native bf16 matmul units (AVX512-BF16 or AMX). There bf16 autocast roughly doubles conv and
    ViT throughput; elsewhere bf16 is emulated and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
