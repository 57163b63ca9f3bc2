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
==================  =============================================================
"""

from .export import JournalTable, save_table
from .format import (format_ci, format_mean_sd, format_median_iqr, format_n_pct, format_num,
                     format_p, format_pct_ci)
from .regression import regression_table
from .response import response_table
from .survival import survival_summary
from .table1 import table1

__all__ = ["JournalTable", "save_table", "format_ci", "format_mean_sd", "format_median_iqr",
           "format_n_pct", "format_num", "format_p", "format_pct_ci", "regression_table",
           "response_table", "survival_summary", "table1"]
