"""Our own logits processors, for the samplers transformers does not ship: one file per sampler, its math as pure
functions over tensors or token lists, its class a transformers `LogitsProcessor` that the stage registry names by
import path."""
