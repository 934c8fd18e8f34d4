"""The benchmark spec: YAML in, a validated, immutable :class:`Spec` out.

Unknown keys are errors; every error becomes one line naming the field and the value.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

import datasets
from harness.errors import UserError
from harness.metrics import binary as metrics_registry
from harness.metrics import per_task
from harness.vocabulary import ALL_VARIANTS, BINARY_VARIANTS, NO_SAMPLER, TUNED_LOSS_DEFAULTS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_PROFILE_KEYS = ("profile", "minority_fraction")
_OPTIONAL_KEYS = (*_PROFILE_KEYS, "test_profile", "imbalance_ratios")  # left out of the dump while unset

Ratio = Annotated[float, Field(ge=1)] | Literal["natural"]


class DatasetSpec(_Strict):
    name: str = Field(description="a catalogue name (`python runner.py datasets` lists them), or csv for your own file")
    params: dict[str, Any] = Field(
        default_factory=dict, description="the source's parameters, e.g. n_samples, separation; csv: path, target, "
        "positive (left out: every label a class); unknown ones are errors")
    label: str | None = Field(None, min_length=1, description="short name in tables and run names")
    profile: Literal["long_tailed", "step", "natural"] | None = Field(
        None, description="multi-class imbalance profile (default long_tailed); refused on binary data")
    minority_fraction: float | None = Field(None, gt=0, lt=1, description="the step profile's minority share of classes")
    test_profile: Literal["balanced"] | None = Field(
        None, description="balanced: as many test samples of every class, topped up from rows the subsample left "
        "out (the long-tail literature's balanced test set; holdout only); train and validation, and so the fitted "
        "models, stay those of the entry without it. Default (null): the test split keeps the training profile")
    imbalance_ratios: list[Ratio] | None = Field(
        None, min_length=1, description="this entry's ratios, in place of the spec's imbalance_ratios (e.g. a "
        "balanced set at 1 beside its long-tailed variant at 10); default (null): the spec's")

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
        """The dump without the optional keys left unset (a profile, test_profile, the entry's own
        ratios), so a spec without them keeps the hash it had before they existed."""
        out = handler(self)
        return {k: v for k, v in out.items() if k not in _OPTIONAL_KEYS or v is not None}

    @property
    def identity(self) -> str:
        """The name plus its parameters (and profile, when given): what seeds hash, so a label
        never changes the data (nor ``test_profile``, which changes the test split only)."""
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

    collection: str = Field(description="a collection (keel-binary, keel-multiclass, krnn-binary, krnn-multiclass, "
                            "sklearn, synthetic) or a name prefix (keel: every keel/...)")
    task: Literal["binary", "multiclass"] | None = Field(None, description="binary or multi-class sets only")
    max_rows: int | None = Field(None, ge=1, description="sets of at most this many rows only")
    min_natural_ratio: float | None = Field(
        None, ge=1, allow_inf_nan=False, description="sets whose natural ratio n_max / n_min is at least this only")
    max_natural_ratio: float | None = Field(
        None, ge=1, allow_inf_nan=False, description="sets whose natural ratio n_max / n_min is at most this only")

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


class Only(_Strict):
    """Where a model or method entry runs, when not on the whole grid (None: everywhere): dataset
    keys, imbalance ratios, and the methods (of a model entry) or models (of a method entry)."""

    datasets: list[str] | None = Field(None, description="these dataset keys only (a label, else the name)")
    imbalance_ratios: list[float | str] | None = Field(None, description="these of the spec's imbalance_ratios only")
    methods: list[str] | None = Field(None, description="a model entry: these method keys only")
    models: list[str] | None = Field(None, description="a method entry: these model keys only")
    task: Literal["binary", "multiclass"] | None = Field(
        None, description="binary or multi-class datasets only (as the catalogue declares them)")

    def allows(self, dataset: str, ratio, other: str, task: str | None = None) -> bool:
        """Whether the cell (dataset key, ratio, the other entry's key, the dataset's task) is inside."""
        return ((self.datasets is None or dataset in self.datasets)
                and (self.task is None or task == self.task)
                and (self.imbalance_ratios is None or ratio in self.imbalance_ratios)
                and (self.methods is None or other in self.methods)
                and (self.models is None or other in self.models))


class _ModelBase(_Strict):
    label: str | None = Field(None, min_length=1, description="name in tables when two entries share a model name")
    only: Only = Field(default_factory=Only, description="run on part of the grid only")

    @property
    def key(self) -> str:
        """The label, else the name: the model's name in cells, results and run names."""
        return self.label or self.name

    @property
    def seed_parts(self) -> tuple[str, ...]:
        """What training and TPE seeds add for this model: its key. Data seeds never include the
        model (paired comparisons)."""
        return (self.key,)


class TorchModelSpec(_ModelBase):
    """The torch learner: ``logistic`` regression or an ``mlp``."""

    name: Literal["mlp", "logistic"] = Field("mlp", description="mlp, or logistic (a linear model)")
    hidden_sizes: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [32], description="widths of the MLP's hidden layers (ReLU); unused by logistic")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout after each hidden layer; unused by logistic")

    @property
    def seed_parts(self) -> tuple[str, ...]:
        """Nothing under its own name (``mlp``, ``logistic``): its seeds stay those from before
        the model axis, so its results reproduce; a labelled entry adds its key."""
        return () if self.key in ("mlp", "logistic") else (self.key,)


class CNNModelSpec(_ModelBase):
    """The convolutional learner: a small residual network over image datasets (``images/...``)."""

    name: Literal["cnn"] = Field(description="cnn: a small residual network; image datasets only")
    channels: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [16, 32], min_length=1,
        description="width of each stage; every stage after the first halves the resolution")
    blocks: int = Field(1, ge=1, description="residual blocks (two 3x3 convolutions each) per stage")
    stem_stride: Literal[1, 2] = Field(1, description="2: the first convolution halves the resolution (28x28 -> "
                                       "14x14, about 4x fewer operations)")


class LightGBMModelSpec(_ModelBase):
    """Gradient-boosted trees with the zoo's losses as custom objectives."""

    name: Literal["lightgbm"] = Field(description="lightgbm: binary data only")
    max_rounds: int = Field(300, ge=1, description="boosting rounds at most (early stopping picks fewer)")
    patience: int = Field(20, ge=1, description="rounds without a better validation loss before stopping")
    report_every: int = Field(1, ge=1, description="rounds between two pruning reports")


class FCNModelSpec(_ModelBase):
    """The fully convolutional net of the dense task (one logit per canvas location)."""

    name: Literal["fcn"] = Field(description="fcn: dense canvases only (datasets dense/...)")
    channels: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [16, 16, 16], min_length=1, description="widths of the 3×3 conv layers (ReLU)")
    dilations: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1, 2, 2], min_length=1, description="dilation of each conv layer (as many as channels)")
    probes: bool = Field(True, description="measure CE's easy-negative gradient shares at initialisation and after "
                         "each epoch (the mechanism metrics easy_negative_*)")

    @model_validator(mode="after")
    def _one_dilation_per_layer(self) -> "FCNModelSpec":
        if len(self.dilations) != len(self.channels):
            raise ValueError(f"dilations: expected {len(self.channels)} values (one per channel entry), "
                             f"got {len(self.dilations)}")
        return self


#: The settings of each learner a spec may list under ``models`` (one class per learner module,
#: registered here and in harness.learners.REGISTRY; the ensembles are methods, not models).
MODEL_SETTINGS: tuple[type[_ModelBase], ...] = (TorchModelSpec, LightGBMModelSpec, CNNModelSpec, FCNModelSpec)

#: model name -> its settings class, from each class's ``name`` literal
_MODEL_CLASSES = {name: cls for cls in MODEL_SETTINGS for name in get_args(cls.model_fields["name"].annotation)}

#: Model names a spec may list
MODEL_NAMES = tuple(_MODEL_CLASSES)


@dataclass(frozen=True)
class EnsembleModel:
    """The model of an ensemble method's cells: the method is its own learner (not in specs)."""

    ensemble: str = ""  # the method, which is its own learner
    name: str = "ensemble"
    only: Any = None
    label: None = None
    key: str = "ensemble"
    seed_parts: tuple[str, ...] = ("ensemble",)


ModelSpec = Annotated[Union[MODEL_SETTINGS], Field(discriminator="name")]  # noqa: UP007  (built from a tuple)


def _model_entry(value: Any, where: str) -> Any:
    """A model entry with its name filled in (``mlp`` by default), unknown names as one line."""
    if not isinstance(value, dict):
        return value
    value = {"name": "mlp", **value}
    if value["name"] not in MODEL_NAMES:
        hint = " (ensembles are methods: list them under methods)" if value["name"] in ("ensemble", "imblearn") else ""
        raise ValueError(f"{where}.name: unknown model {value['name']!r}{hint}; known: {', '.join(MODEL_NAMES)}")
    return value


class TrainingSpec(_Strict):
    max_epochs: int = Field(50, ge=1, description="epochs at most (torch learner; LightGBM has max_rounds)")
    batch_size: int = Field(256, ge=1, description="mini-batch size (torch learner)")
    patience: int = Field(
        5, ge=1, description="epochs without improvement (see early_stopping) before stopping; the best epoch's "
        "weights are kept")
    early_stopping: Literal["loss", "metric", "none"] = Field(
        "loss", description="follow the validation loss (default) or the tuning metric; none: train "
        "max_epochs (LightGBM: max_rounds) and keep the last weights (the over-parameterised regime)"
    )
    stacked: bool = Field(
        True, description="train models of one architecture and data size (a batch of trials, the repetitions) "
        "as one stacked model: the same results to float tolerance, several times faster"
    )
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="auto: CUDA when torch sees a GPU, else the CPU")


#: a method entry's ``function``: ``FILE.py:FN``
FUNCTION_PATTERN = r"^.+\.py:[A-Za-z_][A-Za-z0-9_]*$"


def function_file(reference: str) -> Path:
    """The file of a ``FILE.py:FN`` reference (relative to the working directory, ``~`` expanded)."""
    return Path(reference.rsplit(":", 1)[0]).expanduser()


class MethodSpec(_Strict):
    """A method entry with its own name in results (``label``) and its own narrowed or fixed
    parameters (``search_space``, over the spec-wide ``tuning.search_space``): the way to run
    one method twice, e.g. focal with γ fixed at 1 and at 3. With ``function`` it is a loss of
    your own (``{name: my_loss, function: my_loss.py:fn}``), registered under ``name`` when the
    spec is planned (:mod:`harness.methods.user_losses`)."""

    name: str = Field(description="a method: a loss, <loss>+<sampler>, a sampler alone, tuned_loss or an ensemble")
    label: str | None = Field(
        None, min_length=1, pattern=r"^[^+]+$", description="its name in results and runs (to list a method twice); no +")
    search_space: dict[str, Any] = Field(
        default_factory=dict, description="this entry's own narrowed ([low, high]) or fixed (a value) parameters, "
        "applied over tuning.search_space")
    only: Only = Field(default_factory=Only, description="run on part of the grid only")
    n_trials: int | None = Field(
        None, ge=1, description="this entry's trials, in place of tuning.n_trials (e.g. tuned_loss at twice "
        "the budget); default (null): tuning.n_trials")
    function: str | None = Field(
        None, pattern=FUNCTION_PATTERN, description="your own loss: FILE.py:FN, a Python function fn(logits, targets, "
        "**params) -> per-sample loss (torch); name is then its loss name (see docs/writing-a-spec.md)")
    _digest: str = PrivateAttr("")  # sha256 of the function's file, read when the spec is validated

    @model_serializer(mode="wrap")
    def _without_unset_trials(self, handler) -> dict:
        """The dump without an unset ``n_trials`` or ``function``, so a spec without them keeps its hash."""
        out = handler(self)
        return {k: v for k, v in out.items() if k not in ("n_trials", "function") or v is not None}

    @field_validator("function")
    @classmethod
    def _file_exists(cls, value: str | None) -> str | None:
        if value is not None and not function_file(value).is_file():
            raise ValueError(f"expected FILE.py:FN with an existing file (relative to the working directory), "
                             f"got {value!r}: no file {str(function_file(value))!r}")
        return value

    @model_validator(mode="after")
    def _read_function_file(self) -> "MethodSpec":
        """The digest of the function's file (what :meth:`Spec.spec_hash` adds), read once here;
        a name with ``+`` (a sampler) is refused for a function entry."""
        if self.function is not None:
            if "+" in self.name:
                raise ValueError(f"name: expected a plain loss name for a function entry (no +sampler), got {self.name!r}")
            self._digest = hashlib.sha256(function_file(self.function).read_bytes()).hexdigest()
        return self

    @property
    def key(self) -> str:
        return self.label or self.name


def _default_tuned_losses() -> list[str]:
    """``tuned_loss``'s default choices, the published sweep's six losses (frozen: a loss added to
    the zoo later leaves a spec's hash alone); the names are checked against the registries when
    the spec is planned (:mod:`harness.plan.checks`)."""
    return list(TUNED_LOSS_DEFAULTS)


class TunedLossSpec(_Strict):
    """The choices of ``tuned_loss``: losses, and samplers ("none" for no resampling)."""

    losses: list[str] = Field(
        default_factory=_default_tuned_losses, min_length=1, description="the losses it chooses from")
    samplers: list[str] = Field(
        default_factory=lambda: [NO_SAMPLER], min_length=1,
        description="the samplers it chooses from; none: no resampling")


class TuningSpec(_Strict):
    n_trials: int = Field(
        10, ge=0, description="Optuna trials per cell (a method entry's n_trials replaces it); 0: no tuning, every "
        "parameter fixed in search_space (a fixed configuration and schedule, as in Mukhoti et al.)")
    metric: str | list[str] = Field(
        "average_precision", description="one metric, or two for a multi-objective study (Pareto front)"
    )
    pruner: Literal["median", "none"] = Field(
        "median", description="median: stop a trial whose per-epoch validation score falls below the median of "
        "earlier trials (single-objective studies only); none: never")
    per_repetition: bool = Field(False, description="re-tune on each repetition's own split")
    batch_trials: int = Field(
        8, ge=1, description="trials asked together (TPE with the constant liar) and trained together; 1: one by one"
    )
    search_space: dict[str, Any] = Field(
        default_factory=dict, description="narrow ([low, high]) or fix (a value) any tuned parameter"
    )
    tuned_loss: TunedLossSpec = Field(default_factory=TunedLossSpec, description="the choices of method tuned_loss")
    n_startup_trials: int | None = Field(
        None, ge=0, description="random trials before TPE models the history (finished trials only: a whole "
        "batch asked before that many finished is random); default (null): min(budget, 5)"
    )
    trials_per_parameter: int | None = Field(
        None, ge=1, description="budget per tuned parameter: a method tuning p parameters gets "
        "max(n_trials, trials_per_parameter × p) trials; default (null): n_trials for every method"
    )

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

    def budget(self, n_params: int, n_trials: int | None = None) -> int:
        """Trials for a method that tunes ``n_params`` parameters: ``n_trials`` (the method
        entry's own when given, else this section's), raised to ``trials_per_parameter × n_params``
        when that is set and larger."""
        return max(n_trials or self.n_trials, (self.trials_per_parameter or 0) * n_params)

    def startup_trials(self, budget: int) -> int:
        """Random startup trials of a study with ``budget`` trials: ``n_startup_trials``, or
        min(budget, 5) when unset."""
        return min(budget, 5) if self.n_startup_trials is None else min(budget, self.n_startup_trials)


class EvaluationSpec(_Strict):
    protocol: Literal["holdout", "cv"] = Field(
        "holdout", description="holdout: one train / validation / test split per repetition (``split``); cv: "
        "stratified K-fold per repetition, every sample of the subsample tested once, the rest cut into train and "
        "validation as ``split`` cuts them")
    folds: int = Field(5, ge=2, le=50, description="K of the cv protocol (ignored by holdout)")
    repetitions: int = Field(
        2, ge=1, description="holdout: retrainings of the tuned configuration, each with its own subsample, split "
        "and initialisation, scored once on its test split; cv: repeats of the K-fold, the subsample redrawn per "
        "repeat")
    metrics: list[str] = Field(
        default_factory=lambda: list(metrics_registry.DEFAULT), min_length=1,
        description="test metrics; on multi-class data a binary name stands for its counterpart; left out: every "
        "metric of each dataset's task")
    calibration: list[str] = Field(
        default_factory=lambda: list(BINARY_VARIANTS), min_length=1,
        description="post-hoc calibration variants fitted on validation, raw first; isotonic is vector_scaling on "
        "multi-class data")
    plots: bool = Field(True, description="write each cell's figures (reliability diagram, precision-recall, tuning)")

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
        known = ALL_VARIANTS
        for name in value:
            if name not in known:
                raise ValueError(f"unknown calibration variant {name!r}; known: {', '.join(known)}")
        if len(set(value)) != len(value) or value[0] != "raw":
            raise ValueError(f"expected distinct variants starting with 'raw', got {value}")
        return value

    @property
    def fits(self) -> int:
        """Evaluated fits per cell: the repetitions (holdout) or repetitions × folds (cv)."""
        return self.repetitions * (self.folds if self.protocol == "cv" else 1)

    def fold_of(self, fit: int) -> tuple[int, int]:
        """(repeat, fold) of evaluated fit ``fit``: holdout (fit, 0); cv (fit // K, fit % K)."""
        return divmod(fit, self.folds) if self.protocol == "cv" else (fit, 0)


class SplitSpec(_Strict):
    train: float = Field(0.6, gt=0, lt=1, description="share of each class in the training split")
    validation: float = Field(
        0.2, gt=0, lt=1, description="share of each class in the validation split (tuning, early stopping, calibration)")
    test: float = Field(0.2, gt=0, lt=1, description="share of each class in the test split; the three sum to 1")
    max_rows: int | None = Field(
        None, ge=1, description="cap on a prepared dataset's rows (all classes scaled down alike, the ratio "
        "kept): bounds the cost of the largest sets in a sweep")

    @model_validator(mode="after")
    def _sums_to_one(self) -> "SplitSpec":
        total = self.train + self.validation + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"expected train + validation + test = 1, got {total:g}")
        return self

    @property
    def fractions(self) -> tuple[float, float, float]:
        return (self.train, self.validation, self.test)




class Spec(_Strict):
    """A benchmark: datasets × imbalance ratios × methods, with tuning and evaluation settings."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="the MLflow experiment and the results folder's name")
    description: str = Field("", description="free text: the note of the MLflow experiment")
    seed: int = Field(0, ge=0, description="every random choice (data, initialisation, TPE) derives from it")
    datasets: list[DatasetSpec] = Field(
        min_length=1, description="dataset entries: a catalogue name, a mapping, or a collection with filters "
        "(expanded into one entry per set, sorted by name)")
    imbalance_ratios: list[Ratio] = Field(
        min_length=1, description="ratios ρ = n_majority / n_minority to run each dataset at; natural: its own")
    methods: list[str | MethodSpec] = Field(
        min_length=1, description="method names, or {name, label, search_space, only, n_trials} entries")
    models: list[ModelSpec] = Field(
        default_factory=lambda: [TorchModelSpec()], min_length=1,
        description="the model axis (``model:`` one entry is the same as a list of one)")
    training: TrainingSpec = Field(default_factory=TrainingSpec, description="how each model trains")
    tuning: TuningSpec = Field(default_factory=TuningSpec, description="the Optuna search of each cell")
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec, description="repetitions, metrics, calibration")
    split: SplitSpec = Field(default_factory=SplitSpec, description="the per-class train / validation / test split")
    min_test_minority: int = Field(
        10, ge=1, description="fewest samples of the smallest class in test; a ratio leaving fewer is unreachable")
    unreachable_ratio: Literal["error", "skip"] = Field(
        "error", description="a ratio a dataset cannot reach: stop with an error, or skip those cells"
    )
    near_natural: float | None = Field(
        None, ge=1, description="with 'natural' among the ratios, a controlled ratio within this factor of a "
        "dataset's natural ratio (e.g. 1.5: from natural / 1.5 to 1.5 × natural) is left out as a near-duplicate "
        "of the natural cell; unset: every ratio runs")

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

    @model_validator(mode="before")
    @classmethod
    def _one_model_or_many(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "model" in data and "models" in data:
            raise ValueError("model, models: expected one of them, got both")
        if "model" in data:
            data["models"] = [_model_entry(data.pop("model"), "model")]
        elif isinstance(data.get("models"), list):
            data["models"] = [_model_entry(m, f"models[{i}]") for i, m in enumerate(data["models"])]
        return data

    @field_validator("models")
    @classmethod
    def _distinct_models(cls, value: list) -> list:
        keys = [m.key for m in value]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"model {key!r} appears twice; give each entry its own label")
        return value

    @property
    def model(self) -> TorchModelSpec | LightGBMModelSpec | CNNModelSpec:
        """The first model (a spec with one model: its model)."""
        return self.models[0]

    @field_validator("methods")
    @classmethod
    def _distinct_methods(cls, value: list) -> list:
        keys = [entry if isinstance(entry, str) else entry.key for entry in value]
        if len(set(keys)) != len(keys):
            raise ValueError(f"expected distinct method names (give a repeated method a label), got {keys}")
        return value

    @model_validator(mode="after")
    def _only_names_known(self) -> "Spec":
        datasets, ratios = {d.key for d in self.datasets}, {r for d in self.datasets for r in self.ratios_of(d)}
        methods, models = set(self.method_keys), {m.key for m in self.models}
        entries = [(f"models[{i}]", m.only) for i, m in enumerate(self.models)]
        entries += [(f"methods[{i}]", m.only) for i, m in enumerate(self.methods) if not isinstance(m, str)]
        for where, only in entries:
            for field, known in (("datasets", datasets), ("imbalance_ratios", ratios), ("methods", methods),
                                 ("models", models)):
                for value in getattr(only, field) or []:
                    if value not in known:
                        raise ValueError(f"{where}.only.{field}: expected one of {sorted(map(str, known))}, got {value!r}")
        return self

    def ratios_of(self, ds: DatasetSpec) -> list:
        """The imbalance ratios of dataset entry ``ds``: its own, else the spec's."""
        return self.imbalance_ratios if ds.imbalance_ratios is None else ds.imbalance_ratios

    def runs(self, dataset: str, ratio, model, method: str) -> bool:
        """Whether the cell is inside its model's and its method's ``only`` (both: everywhere by default)."""
        entry = self._method_entry(method)
        only = getattr(model, "only", None)  # an ensemble's own model has none
        task = self.task_of(dataset) if (entry.only.task or getattr(only, "task", None)) else None
        inside_model = only is None or only.allows(dataset, ratio, method, task)
        return inside_model and entry.only.allows(dataset, ratio, model.key, task)

    def near_duplicate(self, dataset: str, ratio) -> bool:
        """Whether controlled ``ratio`` lies within ``near_natural`` of the dataset's natural ratio
        while 'natural' runs too (a set the catalogue cannot describe keeps every ratio)."""
        ds = next(d for d in self.datasets if d.key == dataset)
        if self.near_natural is None or ratio == "natural" or "natural" not in self.ratios_of(ds):
            return False
        try:
            counts = datasets.catalogue.info(ds.name).class_counts if not ds.params else None
        except datasets.DataError:
            counts = None
        if not counts:
            return False
        natural = max(counts) / min(counts)
        return natural / self.near_natural <= float(ratio) <= natural * self.near_natural

    def task_of(self, dataset: str) -> str:
        """"binary" or "multiclass": the task of the dataset entry with this key, as its ``n_classes``
        or ``positive`` parameter (one class against the rest) or else the catalogue declares it
        (nothing is loaded)."""
        ds = next(d for d in self.datasets if d.key == dataset)
        if "n_classes" in ds.params:
            return "binary" if ds.params["n_classes"] == 2 else "multiclass"
        if ds.params.get("positive") is not None:  # one class against the rest
            return "binary"
        return datasets.catalogue.info(ds.name).task

    @property
    def restricted(self) -> bool:
        """Whether some model or method entry keeps to part of the grid (``only``)."""
        entries = [*self.models, *(m for m in self.methods if not isinstance(m, str))]
        return any(v is not None for e in entries for v in e.only.model_dump().values())

    @property
    def method_keys(self) -> list[str]:
        """Each method's name in cells and results: its label, else its name."""
        return [entry if isinstance(entry, str) else entry.key for entry in self.methods]

    def _method_entry(self, key: str) -> MethodSpec:
        for entry in self.methods:
            if (entry if isinstance(entry, str) else entry.key) == key:
                return MethodSpec(name=entry) if isinstance(entry, str) else entry
        return MethodSpec(name=key)  # a method this spec does not list (direct calls, tests)

    def method_entry(self, key: str) -> MethodSpec:
        """The ``methods`` entry with this key (its label, else its name); a method the spec does
        not list gets a plain entry (direct calls, tests)."""
        return self._method_entry(key)

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
        """A hash of the validated spec (defaults filled in): a changed hash means other results.

        Fields added after results were published (:data:`_HASHED_WHEN_SET`) enter the hash
        only when set, so a spec that leaves them unset keeps its earlier hash."""
        dumped = self.model_dump(mode="json")
        for section, key in _HASHED_WHEN_SET:
            if dumped[section][key] is None:
                del dumped[section][key]
        if dumped["near_natural"] is None:
            del dumped["near_natural"]
        if dumped["evaluation"]["protocol"] == "holdout":  # the protocol before cv; folds unused by it
            del dumped["evaluation"]["protocol"], dumped["evaluation"]["folds"]
        for entry in [*dumped["models"], *dumped["methods"]]:
            if isinstance(entry, dict) and entry.get("only", {}).get("task", "set") is None:
                del entry["only"]["task"]
        for entry, dumped_entry in zip(self.methods, dumped["methods"]):
            if not isinstance(entry, str) and entry.function is not None:  # the file's contents, not only its name
                dumped_entry["function_sha256"] = entry._digest
        canonical = json.dumps(dumped, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


# (section, field) pairs whose unset value (None, today's behaviour) stays out of the spec hash
_HASHED_WHEN_SET = (("tuning", "n_startup_trials"), ("tuning", "trials_per_parameter"), ("split", "max_rows"))


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
    """The first error as one line: where, what was given, what was expected. A mapping given
    where a name or a mapping may stand (a method entry) reports the mapping's error, not that
    it is not a name."""
    errors = exc.errors()
    err = next((e for e in errors if not (e["type"] == "string_type" and e["loc"][-1:] == ("str",)
                                          and isinstance(e.get("input"), dict))), errors[0])
    loc = tuple(err["loc"])
    if len(loc) >= 3 and loc[0] == "models" and loc[2] in MODEL_NAMES:  # the entry's model, not a key
        model, loc = loc[2], loc[:2] + loc[3:]
        if err["type"] == "extra_forbidden":
            known = sorted(_MODEL_CLASSES[model].model_fields)
            return (f"{_location(loc)}: not a setting of model {model!r}; its settings: {', '.join(known)}")
    where = _location(loc)
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
