"""Where does the answer fork? (Bigelow et al., "Forking Paths in Neural Text Generation", ICLR 2025): at each
position of a run, many continuations after the chosen token and its top alternatives, each turned into an
outcome by a rule, and how the outcome distribution moves along the run.

`outcome` (the rules), `request` (the knobs), `fork_math` (the pure arithmetic) and `result` (the record) need no
model; `run.fork_analysis` samples.
"""
