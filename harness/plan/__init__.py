"""A spec resolved into planned cells: the grid, each cell's method and budget, the learner's
settings, the data it needs, and what the cells cost."""
