"""The music model: representation, tokenizer, Transformer, constrained decoding, tasks, data,
training and evaluation. Imports torch and numpy, never zmq or pydantic.

The engine reaches it through one narrow interface, :mod:`models.interface`.
"""
