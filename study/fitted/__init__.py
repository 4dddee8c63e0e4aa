"""C5: personas fitted at test time on a person's own behaviour (STUDY.md, "C5:
personas fitted at test time"). The persona library and the split are configured in
:mod:`study.fitted.config`; :mod:`study.fitted.selection` picks each person's fitted
persona, its placebo and the oracle ceiling from the candidates' per-choice NLLs."""
