"""Connectivity policies: how many pruned connections come back each epoch.

The SET and AccSET estimators differ only in the policy object they train
with. A policy sees the network after every epoch (with the validation score
when one is measured) and then answers, layer by layer, how many connections
to regrow after pruning. No scikit-learn here.
"""


class SETPolicy:
    """Sparse Evolutionary Training: every layer regrows exactly as many
    connections as were pruned, so the connection count stays constant."""

    def start(self, network):
        """Called once when training of a new network starts."""

    def observe(self, epoch, network, validation_score):
        """Called after each epoch, before the network evolves."""

    def regrow_count(self, layer_index, layer, n_pruned):
        return n_pruned
