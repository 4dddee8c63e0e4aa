"""C4: can one model instance host several personas at once (STUDY.md, "C4: hosting
several personas in one context")?

Three designs, each scored against its own baseline: co-hosted preambles (the target's
profile among K - 1 others, leakage and the person-specific benefit alone vs co-hosted),
interleaved transcripts (two persons' trials alternating: delta NLL, and cross-talk
probes that swap one earlier response) and sampled hosting (V1 with a hosting factor).
Prompts are built in :mod:`study.hosting.prompts` from the templates of
:mod:`study.hosting.config`; the estimators are in :mod:`study.hosting.leakage` and
:mod:`study.hosting.crosstalk`.
"""
