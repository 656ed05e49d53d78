"""How a network's connections evolve between epochs: policies (SET, AccSET)
drive each layer's prune and regrow through the rules (random, connected,
gradient)."""
