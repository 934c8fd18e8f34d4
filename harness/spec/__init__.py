"""The benchmark spec: YAML in, a validated, immutable :class:`Spec` out (the schema validates
names and shapes; checks across registries are the plan's, :mod:`harness.plan.checks`).

Load a spec with ``harness.load_spec`` / ``harness.parse_spec``, which do both; the schema's
own ``load_spec``/``parse_spec`` (:mod:`harness.spec.schema`) skip the registry checks.
"""

from harness.spec.schema import DatasetSpec, Spec

__all__ = ["DatasetSpec", "Spec"]
