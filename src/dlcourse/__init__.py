"""dlcourse: the reusable package behind the course book's chapters and assignments.

Each sub-module holds one idea and names the chapter that teaches it.
"""

__version__ = "0.1.0"

__all__ = [
    "autograd",
    "optim",
    "losses",
    "data",
    "utils",
    "plot",
    "sparse",
    "trainer",
    "cnn",
    "gnn",
    "ebm",
    "attacks",
    "checks",
    "kernels",
    "regions",
    "random_nets",
    "structured",
    "interpret",
    "autoencoders",
    "forests",
    "embed",
    "generative",
    "__version__",
]
