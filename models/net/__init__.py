"""The network: the Transformer, its vocabulary, the tokenizer and checkpoints."""
