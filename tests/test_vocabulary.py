"""The names declared once in harness.vocabulary agree with the registries that implement them."""

from __future__ import annotations

import numpy as np
import pytest

from harness import vocabulary
from harness.evaluation import calibration, calibration_multiclass
from harness.metrics import binary, multiclass, per_task

# which metric kind (declared on each metric) decides each family of the report
KIND_OF_FAMILY = {"ranking": {"ranking"}, "decisions": {"threshold", "label"}, "probabilities": {"probability"}}


def _base(name: str) -> str:
    return name.removesuffix(binary.VAL_THRESHOLD_SUFFIX)


@pytest.mark.parametrize(("families", "registry"), [(vocabulary.FAMILIES, binary),
                                                    (vocabulary.FAMILIES_MULTICLASS, multiclass)])
def test_each_family_holds_metrics_of_its_declared_kind(families, registry):
    assert list(families) == list(KIND_OF_FAMILY)
    for family, names in families.items():
        for name in names:
            metric = registry.available().get(_base(name)) or binary.available()[_base(name)]
            assert metric.kind in KIND_OF_FAMILY[family], (family, name, metric.kind)


def test_headline_metrics_are_known_and_point_the_right_way():
    for name in [*vocabulary.HEADLINE, *vocabulary.FIGURE_METRICS]:
        assert _base(name) in binary.available(), name
    for name in vocabulary.HEADLINE_MULTICLASS:
        assert name in multiclass.available() or name in binary.available(), name
    assert per_task.higher_is_better("average_precision") and not per_task.higher_is_better("ece")


def test_every_declared_variant_is_implemented_and_no_other():
    """Each variant the vocabulary declares calibrates (focal has a closed form), an unknown one
    is refused, on binary (N,) and multi-class (N, C) logits."""
    rng = np.random.default_rng(0)
    y2, z2 = rng.integers(0, 2, 200), rng.normal(size=200)
    y3, z3 = rng.integers(0, 3, 200), rng.normal(size=(200, 3))
    args = {"loss": "focal", "loss_params": {"gamma": 2.0}}
    for variant in vocabulary.BINARY_VARIANTS:
        assert calibration.calibrate(variant, val_logits=z2, y_val=y2, test_logits=z2, **args) is not None
    for variant in vocabulary.MULTICLASS_VARIANTS:
        assert calibration_multiclass.calibrate(variant, val_logits=z3, y_val=y3, test_logits=z3, **args) is not None
    with pytest.raises(ValueError, match="unknown variant"):
        calibration.calibrate("vector_scaling", val_logits=z2, y_val=y2, test_logits=z2, **args)
    with pytest.raises(ValueError, match="unknown multi-class variant"):
        calibration_multiclass.calibrate("isotonic", val_logits=z3, y_val=y3, test_logits=z3, **args)
    for binary_name, multi_name in vocabulary.VARIANT_COUNTERPARTS.items():
        assert binary_name in vocabulary.BINARY_VARIANTS and multi_name in vocabulary.MULTICLASS_VARIANTS
    assert vocabulary.task_of(2) == vocabulary.BINARY and vocabulary.task_of(3) == vocabulary.MULTICLASS
