"""Our own logits processors, for samplers transformers does not ship: one file per sampler, each a
`LogitsProcessor` subclass over a pure function of the scores, named by import path in the stage registry."""
