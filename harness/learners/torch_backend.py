"""The math backend torch computes with, for a run's provenance.

The store and the report never import torch, so the command line asks here and hands the plain
dict down (:func:`harness.report.publish.provenance`).
"""

from __future__ import annotations

import re

import torch


def math_backend() -> dict:
    """Torch's version, its BLAS and LAPACK (as built), whether MKL and oneDNN (MKL-DNN) are
    available, the CPU capability its kernels dispatch to (``AVX512``, ``AVX2``, ``DEFAULT``, ...),
    and the intra-op and inter-op threads of this process (a run sets the intra-op threads of
    every process to its ``--threads``).

    Returns
    -------
    dict
        Plain values, ``unknown`` for a build setting torch does not report.
    """
    config = torch.__config__.show()
    return {"torch": torch.__version__, "blas": _build_setting(config, "BLAS_INFO"),
            "lapack": _build_setting(config, "LAPACK_INFO"), "mkl": torch.backends.mkl.is_available(),
            "mkldnn": torch.backends.mkldnn.is_available(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads()}


def _build_setting(config: str, key: str) -> str:
    """``KEY=value`` of the build settings in ``torch.__config__.show()``'s text."""
    found = re.search(rf"\b{key}=([^,\s]+)", config)
    return found.group(1) if found else "unknown"
