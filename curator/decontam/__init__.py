"""Benchmark decontamination: n-gram overlap between documents and evaluation sets (see ``stage.py``)."""
