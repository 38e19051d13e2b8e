"""Decision trees and random forests, and their rewriting as neural networks.

Taught in the chapter *Decision trees and forests as neural networks*
(``book/trees-as-networks.ipynb``). One idea per module:

==========================  ==========================================================
:mod:`.impurity`            entropy and information gain, the greedy split criterion
:mod:`.network`             a fitted tree as a two-layer sign network (W, b, V, b~)
:mod:`.forest`              a forest as the average of such networks (soft voting)
:mod:`.soft`                soft trees: sigmoid routing with a temperature, trained by SGD
==========================  ==========================================================

A tree with inner nodes :math:`s` (split coordinate :math:`j_s`, threshold :math:`t_s`) and
leaves :math:`l` is the network :math:`y = \\operatorname{sgn}(Wx + b)`,
:math:`\\Phi(x) = [Vy \\ge \\tilde b - \\tfrac12]`, :math:`f(x) = \\Phi(x)^\\top A`; its
predictions are scikit-learn's on every input (``x <= t`` goes left).
"""

from .forest import ForestNetwork, forest_to_network
from .impurity import class_proportions, entropy, information_gain
from .network import TreeNetwork, tree_paths, tree_to_network
from .soft import SoftTree, complete_tree_paths

__all__ = [
    "entropy",
    "information_gain",
    "class_proportions",
    "TreeNetwork",
    "tree_to_network",
    "tree_paths",
    "ForestNetwork",
    "forest_to_network",
    "SoftTree",
    "complete_tree_paths",
]
