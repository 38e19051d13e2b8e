"""Single-bug submissions of the graph-networks assignment (see ``__init__.py`` here).

No later answer calls ``MessagePassingLayer``, so the bug costs exactly Part G's points.
"""

BUGS = {
    # scatter instead of scatter_add: each node keeps one message (the last edge's) instead of
    # their sum, so the values are wrong wherever two edges enter a node, and the result depends
    # on the order of the edges, which breaks the equivariance test (Part G, 5 points)
    "mpnn_last_message_wins": ("mpnn_layer", "m.scatter_add(0,", "m.scatter(0,"),
}
