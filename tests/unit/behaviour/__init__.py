"""A behavioural test suite for extraction, in the manner of CheckList (Ribeiro et al., ACL 2020).

`generate.py` builds notice variants from templates (cue family x task x date form x
structure x delivery) with a fixed seed, in the test run; `score.py` runs them through
the path `caltac-inbox extract` takes (pipeline.extract: parse bytes -> notice ->
classify -> facts) and scores each family. The templates are written from FACTS.md,
not copied from corpus notices.

    python -m tests.unit.behaviour                      # the pass-rate table
    python -m tests.unit.behaviour --failures 5         # and the first 5 failures per family
    python -m tests.unit.behaviour --family closes --failures 20
    CALTAC_BEHAVIOUR_FAILURES=5 pytest tests/unit/behaviour   # the same dump after a test run
"""
