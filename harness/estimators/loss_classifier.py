"""``LossClassifier``: any loss_zoo loss behind the scikit-learn estimator interface.

    >>> from imblearn.pipeline import Pipeline
    >>> from imblearn.over_sampling import SMOTE
    >>> pipe = Pipeline([("smote", SMOTE(random_state=0)), ("clf", LossClassifier(loss="focal", gamma=2.0))])

Works with ``clone``, ``GridSearchCV`` and imbalanced-learn pipelines; binary and multi-class.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

import loss_zoo
from harness.learners.models import MLP, build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit


def _accuracy(y_true: np.ndarray, prob: np.ndarray) -> float:
    """Validation accuracy from the trainer's probabilities ((N,) binary or (N, C))."""
    predicted = (prob > 0.5).astype(int) if prob.ndim == 1 else prob.argmax(axis=1)
    return float(np.mean(predicted == y_true))


class LossClassifier(ClassifierMixin, BaseEstimator):
    """A linear model or MLP trained with a loss from loss_zoo.

    Parameters
    ----------
    loss : str, default "focal"
        A name from ``loss_zoo.available()``. Its entry (``LossEntry.estimator``) says which of
        ``gamma``, ``alpha``, ``beta``, ``tau`` it reads; its other tuned parameters take their
        declared defaults.
    gamma : float, default 2.0
        Focusing parameter (focal, class_balanced_focal, dual_focal).
    alpha : float, sequence or None, default None
        Focal class weighting (binary: weight of the positive class).
    beta : float, default 1.0
        weighted_ce: inverse-frequency power; class_balanced_focal: effective-number β (< 1).
    tau : float, default 1.0
        logit_adjusted_ce: strength of the prior shift.
    hidden_sizes : tuple of int, default ()
        Empty for a linear model.
    dropout : float, default 0.0
    lr, weight_decay : float
        AdamW settings.
    max_epochs, batch_size : int
    early_stopping : bool, default False
        Hold out ``validation_fraction`` (stratified) and stop after ``n_iter_no_change``
        epochs without improvement of the validation loss, keeping the best weights. False:
        train ``max_epochs`` epochs on all of the data and keep the last weights.
    random_state : int, RandomState or None
    """

    def __init__(
        self,
        loss: str = "focal",
        *,
        gamma: float = 2.0,
        alpha=None,
        beta: float = 1.0,
        tau: float = 1.0,
        hidden_sizes: tuple = (),
        dropout: float = 0.0,
        lr: float = 0.01,
        weight_decay: float = 0.0,
        max_epochs: int = 100,
        batch_size: int = 256,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        random_state=None,
    ) -> None:
        self.loss = loss
        self.gamma = gamma
        self.alpha = alpha
        self.beta = beta
        self.tau = tau
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state

    # -- helpers -----------------------------------------------------------------------------
    def _loss_params(self, counts: list[int]) -> dict:
        """The loss's own parameters: the entry maps this estimator's keywords (``gamma``,
        ``alpha``, ``beta``, ``tau``) to its tuned parameters; others take their defaults."""
        entry = loss_zoo.entry(self.loss)
        tuned = {name: getattr(self, keyword) for keyword, name in entry.estimator.items()}
        return entry.loss_params(tuned, [max(int(c), 1) for c in counts])

    def _check_params(self) -> None:
        loss_zoo.entry(self.loss)  # unknown names list the known ones
        for name in ("lr", "max_epochs", "batch_size", "n_iter_no_change"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected a value > 0, got {getattr(self, name)!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction: expected a value in (0, 1), got {self.validation_fraction!r}")

    def _build_model(self, n_features: int, counts: list[int], seed: int, cosine_scale: float | None = None) -> MLP:
        """The MLP; ``cosine_scale``: a cosine-normalised last layer (the loss's head, LDAM)."""
        hidden = tuple(self.hidden_sizes)
        if len(counts) == 2:
            return build_model("mlp", n_features, hidden_sizes=hidden, dropout=self.dropout,
                               prior=max(counts[1], 1) / sum(counts), seed=seed, cosine_scale=cosine_scale)
        torch_gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=torch_gen)))
            return MLP(n_features, hidden, self.dropout, n_outputs=len(counts), cosine_scale=cosine_scale)

    def _logits(self, X: np.ndarray) -> torch.Tensor:
        """Logits in float64, from a float64 copy of the trained (float32) weights: a row's score
        does not depend on the batch it comes in. In float32 it does, by an ulp or so: the BLAS
        kernel's blocking (and so its summation order) depends on the number of rows, and
        scikit-learn's subset-invariance check (tolerance 1e-7) then fails with the machine."""
        model = copy.deepcopy(self.model_).double().eval()  # float32 -> float64 is exact
        with torch.no_grad():
            return model(torch.from_numpy(np.asarray(X, dtype=np.float64)))

    # -- scikit-learn API ----------------------------------------------------------------------
    def fit(self, X, y):
        """Fit on (X, y); y may hold any labels (they are encoded as ``classes_``).

        Trains with :func:`harness.learners.trainer.fit`, the benchmark's trainer.
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(f"y: expected at least 2 classes, got 1 class ({self.classes_[0]!r})")
        entry = loss_zoo.entry(self.loss)
        if not (entry.binary if n_classes == 2 else entry.multiclass):
            only = "binary" if entry.binary else "multi-class"
            raise ValueError(f"loss: expected a loss for {n_classes}-class problems, got {self.loss!r} ({only} only)")
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        train, validation = (np.array(X, dtype=np.float32), y_enc), None  # a copy: X may be read-only
        if self.early_stopping:
            X_train, X_val, y_train, y_val = train_test_split(
                X, y_enc, test_size=self.validation_fraction, stratify=y_enc, random_state=seed)
            train, validation = (X_train, y_train), as_tensors(X_val, y_val)
        counts = np.bincount(train[1], minlength=n_classes).tolist()
        self.loss_params_ = self._loss_params(counts)
        loss_fn = loss_zoo.get(self.loss, **self.loss_params_)
        self.model_ = self._build_model(X.shape[1], counts, seed, entry.head(loss_fn) if entry.head else None)
        config = TrainConfig(self.lr, self.weight_decay, self.max_epochs, self.batch_size, self.n_iter_no_change)
        result = fit(self.model_, loss_fn, as_tensors(*train), validation, config, seed=seed, score=_accuracy)
        self.n_iter_ = result.epochs_run
        return self

    def decision_function(self, X):
        """Logits: shape (n,) for binary problems (positive = ``classes_[1]``), else (n, C)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._logits(X).numpy()

    def predict_proba(self, X):
        """Class probabilities, shape (n, C), columns in the order of ``classes_``."""
        z = self.decision_function(X)
        if z.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-z))
            return np.column_stack([1.0 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class label."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags
