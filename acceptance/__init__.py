"""Acceptance runs: the template's sites deployed, checked and destroyed on AWS (or the stand-in).

`make acceptance` runs it; acceptance/README.md says how, what it costs and what it checks.
"""
