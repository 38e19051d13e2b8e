"""Single-bug submissions of the sparse-coding assignment (see ``assignment_bugs/__init__.py``).

Only the bugs of answers that no later answer calls are listed here, so each costs exactly its
own task's points.
"""

BUGS = {
    # the dictionary step uses the full residual X - Z D^T instead of the residual without atom
    # j: wrong atoms, and the energy rises (Part G, 4 points)
    "atom_update_full_residual": ("update_atoms", "u = R_j.T @ z_j", "u = R.T @ z_j"),
}
