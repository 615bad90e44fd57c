"""The server's side of the page and the API, by job: which models and drafts a request may name (`gate.py`),
the Stop switch of each browser tab (`switches.py`), the page's streamed runs (`page_runs.py`), its experiments
(`experiments.py`), the prompt compression's (`compressions.py`), the forking analysis' (`forks.py`), and the
JSON endpoints (`json_api.py`); every failure becomes a message a person can read (`errors.py`)."""

from __future__ import annotations

from playground.models import LoadedModel
from playground.ui.compressions import Compressions
from playground.ui.experiments import Experiments
from playground.ui.forks import Forks
from playground.ui.gate import Gate
from playground.ui.json_api import JsonApi
from playground.ui.page_runs import PageRuns
from playground.ui.probes import Probes
from playground.ui.prompt_colour import PromptColours
from playground.ui.switches import Switches


class Runs:
    """Everything that runs a model for the page or the API, one part per job, sharing one gate.

    Args:
        models: the host's allowlist, the embedded default first.
        precision: the served precision, the page's default.
        default: the model loaded at start, so the first run does not wait for a load.
    """

    def __init__(self, models: list[str], precision: str, default: LoadedModel) -> None:
        self.gate = Gate(models, precision, default)
        self.switches = Switches()  # Stop switches by browser session, kept in this (the page's) process
        self.page = PageRuns(self.gate, self.switches)
        self.experiments = Experiments(self.gate)
        self.api = JsonApi(self.gate)
        self.compressions = Compressions(self.gate, self.switches)  # the "Compress the prompt" tab's
        self.probes = Probes(self.gate)  # the "Token probe" tab's
        self.forks = Forks(self.gate, self.switches)  # the "Where does the answer fork?" tab's
        self.prompt_colours = PromptColours(self.gate)  # the prompt's figures, for "Colour by"
