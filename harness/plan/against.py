"""``runner.py run SPEC --against DIR``: the cells that compare a new method with a published
sweep, planned from the published spec, and the checks that the comparison is paired.

Splits and seeds derive from a cell's coordinates (benchmark seed, dataset, ratio, repeat, fold;
the method and model for training and tuning), never from the spec's name or its other cells. So
a spec that keeps the published settings and lists only the new methods trains those on the very
splits the published methods saw, and the published per-fold table is their comparison. From
SPEC only its name, its methods not in the published table (the new ones), and its datasets,
imbalance ratios and models (a subset of the published ones, by key) are read; everything else
(seed, split, evaluation, tuning, training, model settings) is the published ``spec.json``'s.

Two checks make the pairing evidence rather than an assumption: every (dataset, ratio, repeat,
fold) must prepare data with the published fingerprint (:func:`check_fingerprints`), and CE
re-run on a few cells per model must land within the regression gate's tolerances
(:func:`recheck_spec`; bit-identity holds on one machine only).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UserError
from harness.plan import checks
from harness.spec import schema
from harness.spec.schema import Spec
from harness.store import results as results_store
from harness.store.run_spec import FILE as SPEC_FILE

RECHECK_METHOD = "ce"
FINGERPRINT_KEYS = ["dataset", "imbalance_ratio", "repeat", "fold"]


@dataclass(frozen=True)
class Published:
    """A published sweep: its folder, its spec as written (``spec.json``) and as validated."""

    folder: Path
    data: dict[str, Any]
    spec: Spec

    @property
    def table(self) -> Path:
        return self.folder / results_store.PUBLISHED

    def rows(self, datasets: list[str], columns: list[str] | None = None) -> pd.DataFrame:
        """The published per-fold rows of ``datasets`` (keys), all or some columns."""
        return results_store.read_published(self.folder, columns=columns, datasets=datasets)

    def methods(self) -> set[str]:
        """The method keys in the published table."""
        return set(results_store.read_published(self.folder, columns=["method"])["method"])


def load_published(folder: Path) -> Published:
    """The published sweep in ``folder``; one-line errors for a folder that is not one, or whose
    spec this code no longer reads to the same hash (its settings would mean other cells)."""
    path = folder / SPEC_FILE
    if not path.is_file() or not (folder / results_store.PUBLISHED).is_file():
        raise UserError(f"--against: expected a published folder with {SPEC_FILE} and {results_store.PUBLISHED}, "
                        f"got {str(folder)!r}")
    data = json.loads(path.read_text())
    written = data.pop("spec_hash", None)
    spec = schema.parse_spec(data, source=str(path))
    if spec.spec_hash() != written:
        raise UserError(f"--against: {path} hashes to {spec.spec_hash()} with this code, but was written with spec hash "
                        f"{written}: the meaning of its settings changed, so its cells cannot be re-planned")
    return Published(folder, data, spec)


def _subset(kind: str, wanted: list, known: list, where: str) -> list:
    """``known`` entries (in the published order) that ``wanted`` names; a wanted one not known is an error."""
    for i, value in enumerate(wanted):
        if value not in known:
            raise UserError(f"{where}: {kind}[{i}]: {value!r} is not in the published sweep (known: "
                            f"{', '.join(map(str, known[:8]))}{', …' if len(known) > 8 else ''})")
    return [k for k in known if k in wanted]


def _keep_only(entry: dict, datasets: list[str], ratios: list) -> dict:
    """An entry's ``only`` lists cut to the kept datasets and ratios (names outside them would be errors)."""
    only = dict(entry.get("only") or {})
    if only.get("datasets") is not None:
        only["datasets"] = [d for d in only["datasets"] if d in datasets]
    if only.get("imbalance_ratios") is not None:
        only["imbalance_ratios"] = [r for r in only["imbalance_ratios"] if r in ratios]
    return {**entry, "only": only} if entry.get("only") is not None else entry


def _method_key(entry: Any) -> str:
    """A method entry's key: a name, a validated entry, or one as written (a dict)."""
    if isinstance(entry, dict):
        return entry.get("label") or entry["name"]
    return entry if isinstance(entry, str) else entry.key


def _grid(user: Spec, published: Published, where: str) -> tuple[list[dict], list, list[dict]]:
    """(dataset entries, ratios, model entries) of the published spec that ``user`` keeps."""
    pub = published.spec
    keys = _subset("datasets", [d.key for d in user.datasets], [d.key for d in pub.datasets], where)
    data = [d for d, ds in zip(published.data["datasets"], pub.datasets) if ds.key in keys]
    ratios = _subset("imbalance_ratios", list(user.imbalance_ratios), list(pub.imbalance_ratios), where)
    models = _subset("models", [m.key for m in user.models], [m.key for m in pub.models], where)
    kept = [m for m, spec in zip(published.data["models"], pub.models) if spec.key in models]
    return copy.deepcopy(data), ratios, copy.deepcopy(kept)  # the published spec's own stay as written


def _spec(user: Spec, published: Published, name: str, methods: list, grid: tuple, where: str) -> Spec:
    datasets, ratios, models = grid
    keys = [schema.DatasetSpec.model_validate(d).key for d in datasets]
    running = [_method_key(m) for m in methods]
    for m in models:  # a model's only.methods names the published methods: keep those that run here
        if (m.get("only") or {}).get("methods") is not None:
            m["only"] = {**m["only"], "methods": [k for k in m["only"]["methods"] if k in running]}
    data = {**published.data, "name": name, "datasets": datasets, "imbalance_ratios": ratios,
            "description": f"{user.name} against {published.folder} (spec hash {published.spec.spec_hash()})",
            "models": [_keep_only(m, keys, ratios) for m in models],
            "methods": [m if isinstance(m, str) else _keep_only(m, keys, ratios) for m in methods]}
    return checks.parse_spec(data, source=where)


def new_cells_spec(user: Spec, published: Published, where: str) -> tuple[Spec, list[str]]:
    """(the spec of the new methods' cells, their keys): the published settings on ``user``'s
    datasets, ratios and models, with ``user``'s methods that the published table lacks. A model
    whose ``only.methods`` lists the published methods gets the new ones instead (only they run;
    a new method's own ``only`` keeps it off a model that cannot train it)."""
    known = published.methods()
    new = [m for m in user.methods if _method_key(m) not in known]
    if not new:
        raise UserError(f"{where}: methods: every method is in the published table already "
                        f"({', '.join(user.method_keys)}); add the new one")
    keys = [_method_key(m) for m in new]
    datasets, ratios, models = _grid(user, published, where)
    for m in models:
        if (m.get("only") or {}).get("methods") is not None:
            m["only"] = {**m["only"], "methods": keys}
    entries = [m if isinstance(m, str) else m.model_dump(mode="json") for m in new]
    return _spec(user, published, user.name, entries, (datasets, ratios, models), where), keys


def recheck_cells(rows: pd.DataFrame, models: list[str], per_model: int) -> tuple[list[str], str]:
    """(datasets, ratio label) of the CE cells to re-run: at the ratio whose cells train on the
    fewest rows, the ``per_model`` datasets with the fewest (cheapest first), among the cells
    the published table has for every one of ``models``."""
    ce = rows[(rows["method"] == RECHECK_METHOD) & rows["model"].isin(models)]
    sizes = ce.groupby(["dataset", "imbalance_ratio", "model"])["n_train"].max().unstack("model")
    sizes = sizes.dropna(subset=[m for m in models if m in sizes.columns]).reindex(columns=models).dropna()
    if sizes.empty:
        raise UserError(f"--against: no published {RECHECK_METHOD} cells on these datasets for models {models}: "
                        "nothing to re-check the machine against")
    rows_per_pair = sizes.sum(axis=1).astype(float)
    ratio = rows_per_pair.groupby(level="imbalance_ratio").sum().idxmin()
    cheapest = rows_per_pair.xs(ratio, level="imbalance_ratio").sort_values(kind="stable")
    return list(cheapest.index[:per_model]), str(ratio)


def recheck_spec(user: Spec, published: Published, rows: pd.DataFrame, per_model: int, where: str) -> Spec:
    """The spec re-running published CE on a few cells of each of ``user``'s models
    (:func:`recheck_cells`), named ``ce-recheck``."""
    _, _, models = _grid(user, published, where)
    model_keys = [m.get("label") or m["name"] for m in models]
    datasets, ratio = recheck_cells(rows, model_keys, per_model)
    pub = published.spec
    entries = copy.deepcopy([d for d, ds in zip(published.data["datasets"], pub.datasets) if ds.key in datasets])
    ratios = [r for r in pub.imbalance_ratios if _label(r) == ratio]
    return _spec(user, published, f"{RECHECK_METHOD}-recheck", [RECHECK_METHOD], (entries, ratios, models), where)


def _label(ratio) -> str:
    """A ratio as the results table writes it (``Cell.ratio_label``)."""
    return ratio if isinstance(ratio, str) else f"{ratio:g}"


def check_fingerprints(spec: Spec, data, rows: pd.DataFrame, skipped, source: Path) -> int:
    """Stop with one line where a (dataset, ratio, repeat, fold) of ``spec`` prepares other data
    than the published table's fingerprint says (or the table has none); the splits checked."""
    published = (rows.drop_duplicates(FINGERPRINT_KEYS).set_index(FINGERPRINT_KEYS)["dataset_fingerprint"].to_dict())
    checked = 0
    for ds in spec.datasets:
        for ratio in spec.imbalance_ratios:
            if (ds.key, ratio) in skipped or spec.near_duplicate(ds.key, ratio):
                continue
            for fit in range(spec.evaluation.fits):
                repeat, fold = spec.evaluation.fold_of(fit)
                here = data.prepared(ds, ratio, fit).fingerprint
                there = published.get((ds.key, _label(ratio), repeat, fold))
                if here != there:
                    what = f"fingerprint {there}" if there else "no fingerprint (the published sweep has no such cell)"
                    raise UserError(f"--against: {ds.key} ρ={_label(ratio)} repeat {repeat} fold {fold}: the split "
                                    f"prepared here has fingerprint {here}, {source} has {what}: the data or its "
                                    "preparation changed, so the new cells would not be paired with the published ones")
                checked += 1
    return checked


def combined_spec(published: Published, new: Spec, where: str, description: str | None = None) -> Spec:
    """The spec of the published table plus ``new``'s cells: the published spec with the new
    methods added (as ``new`` configures them), and a model whose ``only.methods`` lists the
    published methods listing the new ones that ran on it. What ``--publish`` writes: re-running
    it reproduces both. Needs ``new`` to cover the published grid (every dataset, ratio and
    model): a published answer is one spec's complete run. ``description``: the combined answer's
    (default: the published one's)."""
    from harness.plan.cells import grid  # the plan's grid, late: cells import the resolve step

    pub = published.spec
    for kind, got, known in (("datasets", [d.key for d in new.datasets], [d.key for d in pub.datasets]),
                             ("imbalance_ratios", list(new.imbalance_ratios), list(pub.imbalance_ratios)),
                             ("models", [m.key for m in new.models], [m.key for m in pub.models])):
        if missing := [k for k in known if k not in got]:
            raise UserError(f"{where}: --publish: {kind}: the new methods must cover the published sweep to publish "
                            f"it again; missing {len(missing)}: {', '.join(map(str, missing[:5]))}")
    ran = {(method, model.key) for _, _, method, model in grid(new)}
    data = copy.deepcopy(published.data)
    for entry, model in zip(data["models"], pub.models):
        if (entry.get("only") or {}).get("methods") is not None:
            entry["only"]["methods"] = [*entry["only"]["methods"], *(k for k in new.method_keys if (k, model.key) in ran)]
    data["methods"] = [*data["methods"], *new.model_dump(mode="json")["methods"]]
    data["description"] = description or data.get("description")
    return checks.parse_spec(data, source=f"{where} (the published spec with the new methods)")
