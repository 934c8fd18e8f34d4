"""Torch's math backend for a run's provenance: plain data, this process's threads, and the build
settings read from ``torch.__config__.show()`` (``unknown`` when a build does not say)."""

from __future__ import annotations

import torch

from harness.learners.torch_backend import _build_setting, math_backend


def test_torchs_math_backend_is_plain_data_with_this_process_threads():
    backend = math_backend()
    assert backend["torch"] == torch.__version__ and backend["threads"] == torch.get_num_threads()
    assert isinstance(backend["mkldnn"], bool) and backend["cpu_capability"] and backend["interop_threads"] >= 1
    assert backend["blas"] != "" and backend["lapack"] != ""
    settings = "Build settings: BLAS_INFO=open, BUILD_TYPE=Release, LAPACK_INFO=flame, USE_MKL=OFF,"
    assert (_build_setting(settings, "BLAS_INFO"), _build_setting(settings, "LAPACK_INFO")) == ("open", "flame")
    assert _build_setting("Build settings: BUILD_TYPE=Release", "BLAS_INFO") == "unknown"
