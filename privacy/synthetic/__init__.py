"""DP synthetic microdata: our marginal synthesizer and the pac-synth baseline, one interface."""

from privacy.synthetic.marginal import Measurements, measure
from privacy.synthetic.publication import privacy, report_markdown, table_schema, to_published
from privacy.synthetic.result import SyntheticResult, SyntheticSpend
from privacy.synthetic.spec import DEFAULT_COLUMNS, SyntheticSpec
from privacy.synthetic.synthesizer import generate, result_of, synthesize

__all__ = [
    "DEFAULT_COLUMNS",
    "Measurements",
    "SyntheticResult",
    "SyntheticSpec",
    "SyntheticSpend",
    "generate",
    "measure",
    "privacy",
    "report_markdown",
    "result_of",
    "synthesize",
    "table_schema",
    "to_published",
]
