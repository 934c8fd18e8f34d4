"""The benchmark spec: YAML in, a validated, immutable :class:`Spec` out (the schema validates
names and shapes; checks across registries are the plan's, :mod:`harness.plan`)."""

from harness.spec.schema import DatasetSpec, Spec, load_spec, parse_spec

__all__ = ["DatasetSpec", "Spec", "load_spec", "parse_spec"]
