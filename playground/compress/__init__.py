"""Prompt compression (LLMLingua, Jiang et al., EMNLP 2023): the loaded model reads the prompt segment by segment
and drops the tokens it finds most predictable, conditioned on the already compressed text before them.

`compress_prompt` runs it; `keep_threshold` / `keep_mask` are the pure selection rule; `Compression` is the result.
"""

from playground.compress.compressor import compress_prompt, default_span
from playground.compress.result import Compression, PromptToken
from playground.compress.select import keep_mask, keep_threshold

__all__ = ["Compression", "PromptToken", "compress_prompt", "default_span", "keep_mask", "keep_threshold"]
