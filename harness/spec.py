"""The benchmark spec: YAML in, a validated, immutable :class:`Spec` out.

Unknown keys are errors; every error becomes one line naming the field and the value.
"""

from __future__ import annotations

import hashlib
import json
import math
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

import datasets

from . import methods as methods_registry
from . import metrics as metrics_registry
from . import per_task
from .calibration import VARIANTS
from .errors import UserError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_PROFILE_KEYS = ("profile", "minority_fraction")


class DatasetSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = Field(None, min_length=1, description="short name in tables and run names")
    profile: Literal["long_tailed", "step", "natural"] | None = Field(
        None, description="multi-class imbalance profile (default long_tailed); refused on binary data")
    minority_fraction: float | None = Field(None, gt=0, lt=1, description="the step profile's minority share of classes")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known(self) -> "DatasetSpec":
        try:
            datasets.get_source(self.name).make_params(self.params)
        except datasets.DataError as exc:
            raise ValueError(str(exc)) from None
        if self.profile is not None and self.params.get("positive") is not None:
            raise ValueError(f"{self.name}: params.positive: expected none with a profile (a multi-class set keeps "
                             f"every label as a class), got {self.params['positive']!r}; drop positive, or the "
                             "profile for one positive label against the rest")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_profile(self, handler) -> dict:
        """The dump without a profile left out, so a binary spec's hash is what it was before profiles."""
        out = handler(self)
        return {k: v for k, v in out.items() if k not in _PROFILE_KEYS or v is not None}

    @property
    def identity(self) -> str:
        """The name plus its parameters (and profile, when given): what seeds hash, so a label
        never changes the data."""
        params = {**self.params, **{k: getattr(self, k) for k in _PROFILE_KEYS if getattr(self, k) is not None}}
        if not params:
            return self.name
        return self.name + "(" + ",".join(f"{k}={params[k]}" for k in sorted(params)) + ")"

    @property
    def key(self) -> str:
        """The label, else :attr:`identity`: the dataset's name in tables and run names."""
        return self.label or self.identity


class CollectionSpec(_Strict):
    """A collection with filters in ``datasets:``, e.g. ``{collection: keel-binary, max_rows: 20000}``.

    Expanded when the spec is parsed into one explicit entry per dataset, sorted by name (so the
    expanded spec, its hash and its cells do not depend on the order of the catalogue's files).
    """

    collection: str
    task: Literal["binary", "multiclass"] | None = None
    max_rows: int | None = Field(None, ge=1)
    min_natural_ratio: float | None = Field(None, ge=1, allow_inf_nan=False)
    max_natural_ratio: float | None = Field(None, ge=1, allow_inf_nan=False)

    def names(self) -> list[str]:
        """The selected catalogue names; none selected raises ``DataError`` naming the filters."""
        return datasets.catalogue.select(datasets.catalogue.Filters(**self.model_dump()))


def _expand_collection(entry: dict, where: str) -> list[dict]:
    """Explicit ``{name: ...}`` entries for one collection entry; errors name the field."""
    try:
        collection = CollectionSpec.model_validate(entry)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(map(str, err["loc"]))
        if err["type"] == "extra_forbidden":
            raise ValueError(f"{where}.{field}: unknown key; known keys here: {', '.join(CollectionSpec.model_fields)}") from None
        raise ValueError(f"{where}.{field}: {err['msg']}, got {err.get('input')!r}") from None
    try:
        return [{"name": name} for name in collection.names()]
    except datasets.DataError as exc:
        raise ValueError(f"{where}: {exc}") from None


class ModelSpec(_Strict):
    name: Literal["logistic", "mlp"] = "mlp"
    hidden_sizes: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [32])
    dropout: float = Field(0.0, ge=0.0, lt=1.0)


class TrainingSpec(_Strict):
    max_epochs: int = Field(50, ge=1)
    batch_size: int = Field(256, ge=1)
    patience: int = Field(5, ge=1)
    early_stopping: Literal["loss", "metric"] = Field(
        "loss", description="follow the validation loss (default) or the tuning metric"
    )
    stacked: bool = Field(
        True, description="train models of one architecture and data size (a batch of trials, the repetitions) "
        "as one stacked model: the same results to float tolerance, several times faster"
    )
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="auto: CUDA when torch sees a GPU, else the CPU")


class TunedLossSpec(_Strict):
    """The choices of ``tuned_loss``: losses, and samplers ("none" for no resampling)."""

    losses: list[str] = Field(default_factory=lambda: list(methods_registry.LOSSES), min_length=1)
    samplers: list[str] = Field(default_factory=lambda: [methods_registry.NO_SAMPLER], min_length=1)

    @model_validator(mode="after")
    def _known(self) -> "TunedLossSpec":
        methods_registry.tuned_loss(self.losses, self.samplers)
        return self


class TuningSpec(_Strict):
    n_trials: int = Field(10, ge=1)
    metric: str | list[str] = Field(
        "average_precision", description="one metric, or two for a multi-objective study (Pareto front)"
    )
    pruner: Literal["median", "none"] = "median"
    per_repetition: bool = Field(False, description="re-tune on each repetition's own split")
    batch_trials: int = Field(
        8, ge=1, description="trials asked together (TPE with the constant liar) and trained together; 1: one by one"
    )
    search_space: dict[str, Any] = Field(
        default_factory=dict, description="narrow ([low, high]) or fix (a value) any tuned parameter"
    )
    tuned_loss: TunedLossSpec = Field(default_factory=TunedLossSpec)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not 1 <= len(names) <= 2 or len(set(names)) != len(names):
            raise ValueError(f"expected one metric name or two distinct ones, got {value!r}")
        usable = [n for n, m in per_task.all_metrics().items() if m.kind != "truth"]
        for name in names:
            if name not in usable:
                raise ValueError(f"unknown tuning metric {name!r}; known: {', '.join(usable)}")
        return value

    @property
    def metrics(self) -> list[str]:
        return [self.metric] if isinstance(self.metric, str) else list(self.metric)


class EvaluationSpec(_Strict):
    repetitions: int = Field(2, ge=1)
    metrics: list[str] = Field(default_factory=lambda: list(metrics_registry.DEFAULT), min_length=1)
    calibration: list[str] = Field(default_factory=lambda: list(VARIANTS), min_length=1)
    plots: bool = True

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        known = per_task.all_metrics()
        for name in value:
            if name not in known:
                raise ValueError(f"unknown metric {name!r}; known: {', '.join(known)}")
        if len(set(value)) != len(value):
            raise ValueError(f"expected distinct metric names, got {value}")
        return value

    @field_validator("calibration")
    @classmethod
    def _known_variants(cls, value: list[str]) -> list[str]:
        known = per_task.all_variants()
        for name in value:
            if name not in known:
                raise ValueError(f"unknown calibration variant {name!r}; known: {', '.join(known)}")
        if len(set(value)) != len(value) or value[0] != "raw":
            raise ValueError(f"expected distinct variants starting with 'raw', got {value}")
        return value


class SplitSpec(_Strict):
    train: float = Field(0.6, gt=0, lt=1)
    validation: float = Field(0.2, gt=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> "SplitSpec":
        total = self.train + self.validation + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"expected train + validation + test = 1, got {total:g}")
        return self

    @property
    def fractions(self) -> tuple[float, float, float]:
        return (self.train, self.validation, self.test)


Ratio = Annotated[float, Field(ge=1)] | Literal["natural"]


class Spec(_Strict):
    """A benchmark: datasets × imbalance ratios × methods, with tuning and evaluation settings."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    seed: int = Field(0, ge=0)
    datasets: list[DatasetSpec] = Field(min_length=1)
    imbalance_ratios: list[Ratio] = Field(min_length=1)
    methods: list[str] = Field(min_length=1)
    model: ModelSpec = Field(default_factory=ModelSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    tuning: TuningSpec = Field(default_factory=TuningSpec)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    split: SplitSpec = Field(default_factory=SplitSpec)
    min_test_minority: int = Field(10, ge=1)
    unreachable_ratio: Literal["error", "skip"] = Field(
        "error", description="a ratio a dataset cannot reach: stop with an error, or skip those cells"
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_collections(cls, data: Any) -> Any:
        """Replace ``{collection: ..., filters}`` entries of ``datasets`` by the entries they select."""
        entries = data.get("datasets") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not any(isinstance(e, dict) and "collection" in e for e in entries):
            return data
        expanded = []
        for i, entry in enumerate(entries):
            if isinstance(entry, dict) and "collection" in entry:
                expanded += _expand_collection(entry, f"datasets[{i}]")
            else:
                expanded.append(entry)
        return {**data, "datasets": expanded}

    @field_validator("imbalance_ratios", mode="before")
    @classmethod
    def _finite_ratios(cls, value: Any) -> Any:
        for ratio in value if isinstance(value, list) else ():
            if isinstance(ratio, float) and not math.isfinite(ratio):
                raise ValueError(f"expected finite numbers >= 1 or 'natural', got {ratio!r}")
        return value

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, value: list[str]) -> list[str]:
        for name in value:
            methods_registry.get(name)
        if len(set(value)) != len(value):
            raise ValueError(f"expected distinct method names, got {value}")
        return value

    @model_validator(mode="after")
    def _search_space_keys(self) -> "Spec":
        spaces = [self.method(name).full_space for name in self.methods]
        known = sorted({k for space in spaces for k in space})
        for key in self.tuning.search_space:
            if key not in known:
                close = get_close_matches(key, known, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ValueError(f"tuning.search_space.{key}: unknown parameter{hint}; known for these methods: {', '.join(known)}")
        return self

    def method(self, name: str) -> methods_registry.Method:
        """Method ``name`` as this spec configures it (tuned_loss choices, narrowed or fixed parameters)."""
        tuned = methods_registry.tuned_loss(self.tuning.tuned_loss.losses, self.tuning.tuned_loss.samplers)
        return methods_registry.get(name, tuned=tuned).with_overrides(self.tuning.search_space)

    @field_validator("datasets")
    @classmethod
    def _distinct_datasets(cls, value: list[DatasetSpec]) -> list[DatasetSpec]:
        keys = [d.key for d in value]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"dataset {key!r} appears twice; give each entry its own label")
        return value

    @field_validator("imbalance_ratios")
    @classmethod
    def _distinct_ratios(cls, value: list) -> list:
        if len(set(value)) != len(value):
            raise ValueError(f"expected distinct ratios, got {value}")
        return value

    def spec_hash(self) -> str:
        """A hash of the validated spec (defaults filled in): a changed hash means other results."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue  # pydantic's internal union / validator steps
        else:
            out += ("." if out else "") + str(part)
    return out or "spec"


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Keys allowed at ``loc`` (for 'unknown key' messages)."""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ()) or (annotation,)
        nested = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return sorted(model.model_fields)


def format_validation_error(exc: ValidationError) -> str:
    """The first error as one line: where, what was given, what was expected."""
    err = exc.errors()[0]
    where = _location(err["loc"])
    if err["type"] == "extra_forbidden":
        known = _known_keys(Spec, err["loc"])
        return f"{where}: unknown key; known keys here: {', '.join(known)}"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{where}: required field is missing"
    given = err.get("input")
    if err["type"].startswith(("value_error", "assertion_error")):
        return msg if not err["loc"] else f"{where}: {msg}"
    return f"{where}: {msg}, got {given!r}"


def parse_spec(data: Any, *, source: str = "spec") -> Spec:
    """Validate a spec given as a mapping; errors raise :class:`UserError` with one line."""
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping of spec keys, got {type(data).__name__}")
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{source}: {format_validation_error(exc)}") from None


def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML spec with the safe loader."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"spec: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_spec(data, source=str(path))
