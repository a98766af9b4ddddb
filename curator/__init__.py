"""curator: Spark pipeline that curates LLM pretraining data and trains a GPT on it."""

__version__ = "0.1.0"
