"""Test metrics by name with their properties declared (direction, kind, family): binary
(:mod:`.binary`), multi-class (:mod:`.multiclass`), and which one a name means on a task
(:mod:`.per_task`). numpy and scikit-learn only: the schema, the learners' monitors and the
report all read them."""
