"""aplcohort.tables: publication tables.

Each builder returns a frozen :class:`~aplcohort.tables.export.JournalTable` with
``.data`` (formatted cells), ``.raw`` (the numbers, fixed column names), an HTML
notebook display, and exporters ``to_csv``, ``to_html``, ``to_latex``, ``to_docx``
(``save`` writes all four). p-values print as ``<0.001``; decimals are consistent.

==================  =============================================================
table1              baseline characteristics by group, tests chosen per row, SMD
response_table      response rates with exact CIs, odds ratio (exact CI), Fisher p
survival_summary    n, events, median (95% CI), x-time estimates, log-rank / Gray p
regression_table    HR / SHR (95% CI), p; univariable and multivariable side by side
format_frame        any result frame (curves, medians, terms, tests) as a journal table
write_manuscript    every table and figure of a run in one numbered .docx
==================  =============================================================

Labels, units and level order come from one place (:func:`resolve_labels`: data
dictionary, then a plan's ``labels:`` / ``levels:``); numbers follow one journal style
(:func:`get_style`: aplcohort, ama, lancet, blood). See ``docs/tables.md``.
"""

from .export import JournalTable, latex_document, save_table
from .frame import format_frame, is_p_column
from .labels import Labels, resolve_labels
from .manuscript import ManuscriptItem, write_manuscript
from .style import TableStyle, get_style
from .format import (format_ci, format_mean_sd, format_median_iqr, format_n_pct, format_num,
                     format_p, format_pct_ci)
from .regression import regression_table
from .response import response_table
from .survival import survival_summary
from .table1 import table1

__all__ = ["JournalTable", "save_table", "format_ci", "format_mean_sd", "format_median_iqr",
           "format_n_pct", "format_num", "format_p", "format_pct_ci", "regression_table",
           "response_table", "survival_summary", "table1", "format_frame", "is_p_column",
           "Labels", "resolve_labels", "ManuscriptItem", "write_manuscript", "TableStyle",
           "get_style", "latex_document"]
