"""Scripts that measure speed and memory and print ratios measured in one run."""
