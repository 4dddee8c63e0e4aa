"""study: is a persona-prompted language model *being* that persona?

Stages, in the order data flows (no stage imports a later one):
``study.data`` → ``study.personas`` → ``study.engines`` → ``study.store`` →
``study.variance`` → ``study.pipeline`` (analysis and report).
The variance library (``study.variance``) stands alone: it needs only a data frame.
"""

__version__ = "0.1.0"
