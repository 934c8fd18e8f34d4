"""Methods: a loss, a loss with a sampler, a sampler alone, an ensemble or ``tuned_loss``, each
with its search space (:mod:`.registry`); the imbalanced-learn samplers (:mod:`.samplers`)."""
