"""The model's own answers as a corpus for the suffix draft (`engine/speculative/suffix.py`): the token ids that
ship here for a model and their file format (`corpus.py`). `training/suffix_corpus.py` makes them from the
answers `training/answers.py` saves."""
