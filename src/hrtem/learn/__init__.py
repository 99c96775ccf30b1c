"""CNNs trained on simulated images (thesis ch. 6): labels, data, network, training, post-processing, metrics."""
