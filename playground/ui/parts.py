"""The page's components by name: made by the builders of `page.py`, connected by `events.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playground.knobs import Knob
from playground.ui.compare_view import CompareViews
from playground.ui.views import SampleViews, Views


@dataclass
class Parts:
    """The page's components by name, handed from the builders that make them to `wire`, which connects them."""

    controls: dict[str, Any] = field(default_factory=dict)  # by CONTROLS name
    # The knobs only some strategies use, one container per set of strategies, shown while one of them is chosen.
    groups: list[tuple[Knob, Any]] = field(default_factory=list)  # (a knob of the group, its container)
    families: dict[str, Any] = field(default_factory=dict)  # the side column's accordions, by family name
    chain_line: Any = None  # the chain as the next run applies it (the Order family's)
    order_picker: Any = None  # the stages picked in order, kept in step with the Sampler order box
    order_reset: Any = None  # back to the default order
    strategy_help: Any = None
    preset: Any = None
    lesson: Any = None
    run_button: Any = None
    stop_button: Any = None
    branch_button: Any = None
    many_here_button: Any = None  # "Sample many from here": the step view's step and token, many samples on
    compare_button: Any = None
    comparison: Any = None  # the session's last comparison, for the step slider
    compare: CompareViews | None = None
    many_button: Any = None
    open_button: Any = None  # opens the sample chosen under "Open a sample" as a run of its own
    samples: SampleViews | None = None
    compress: Any = None  # the "Compress the prompt" tab's parts (compress_tab.CompressParts)
    lens: Any = None  # the "Logit lens" tab's parts (lens_tab.LensParts)
    probe: Any = None  # the "Token probe" tab's parts (probe_tab.ProbeParts)
    fork: Any = None  # the "Where does the answer fork?" tab's parts (fork_tab.ForkParts)
    colour: Any = None  # "Colour by" and the coloured prompt (prompt_colour.ColourParts)
    mass_button: Any = None
    mass_status: Any = None
    mass_plot: Any = None
    output: Any = None
    status: Any = None
    reads: Any = None  # what the model reads: the shown run's rendered prompt (a Views part)
    reset_preset: Any = None  # puts back every control the chosen preset set, once one has moved
    model_info: Any = None  # the model line at the top: the start-up model, then the shown run's
    last_trace: Any = None
    made: Any = None  # a finished run's trace, from the run to the step that adds it to the tree
    run_tree: Any = None  # the session's runs (RunTree)
    tree_view: Any = None
    export_runs_button: Any = None
    export_button: Any = None
    trace_file: Any = None
    tabs: Any = None
    views: Views | None = None
