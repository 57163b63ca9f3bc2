"""aplcohort.plots: publication figures.

Every figure function takes an Axes / Figure (or makes one at journal width inside
:func:`~aplcohort.plots.style.journal_style`) and returns it; the numbers drawn come
from the tested estimators and pure helper functions. Save with
:func:`~aplcohort.plots.export.save_figure` (PNG, SVG, PDF, TIFF at 300 or 600 dpi).

=====================  ==========================================================
plot_km                Kaplan–Meier curves + number-at-risk table, medians, p, HR
plot_cif               cumulative incidence (by group or stacked causes) + risk table
plot_simon_makuch      Simon–Makuch curves; risk table shows moves between curves
plot_forest            forest plot (Cox, Fine–Gray, univariable + multivariable, subgroups)
plot_zph               scaled Schoenfeld residuals with spline smooth (R plot.cox.zph)
plot_predicted_survival  Cox predicted survival of covariate profiles with CI bands
plot_cumhaz            cumulative (baseline) hazard curves
subgroup_hazard_ratios subgroup HRs with interaction p (input of plot_forest)
plot_swimmer           one lane per patient from first relapse
plot_flow              flow diagram from an attrition log
plot_recovery          days to ANC / platelet recovery (CIF with death competing, or box)
recovery_figure        ANC and platelet recovery side by side
journal_style          context manager: fonts >= 7 pt, Okabe–Ito colours, no global change
Palette                one colour / line style / marker per group level for every figure
save_figure            write PNG / SVG / PDF / TIFF (TrueType in PDF, text in SVG)
save                   write one file, format from the extension, nothing cut off
align_risk_tables      line up the panels and risk tables of a grid, labels kept apart
love_plot              SMD before / after adjustment, comparisons in the run's colours
ps_histogram           mirrored propensity-score histogram (overlap)
=====================  ==========================================================
"""

from .diagnostics import plot_cumhaz, plot_predicted_survival, plot_zph
from .export import FORMATS, check_baseline, save, save_figure
from .flow import count_groups, flow_layout, plot_flow
from .forest import forest_frame, plot_forest, subgroup_hazard_ratios
from .recovery import plot_recovery, recovery_figure, recovery_summary
from .style import (COLUMN_WIDTHS_MM, LINESTYLES, OKABE_ITO, PALETTE, Palette, column_width,
                    figure_size, group_styles, journal_style)
from .balance import love_plot, ps_histogram
from .survival import (align_risk_tables, cif_upper_limit, default_ticks, hr_text,
                       inset_upper_limit, needs_inset, plot_cif, plot_km, plot_simon_makuch,
                       pvalue_text, risk_table_values)
from .swimmer import dodge_positions, plot_swimmer, swimmer_events

__all__ = [
    "FORMATS", "check_baseline", "save", "save_figure", "Palette", "align_risk_tables",
    "cif_upper_limit", "dodge_positions", "count_groups", "flow_layout", "plot_flow",
    "forest_frame", "plot_forest", "subgroup_hazard_ratios", "plot_recovery", "recovery_figure",
    "recovery_summary", "COLUMN_WIDTHS_MM", "LINESTYLES", "OKABE_ITO", "PALETTE", "column_width",
    "figure_size", "group_styles", "journal_style", "default_ticks", "hr_text", "plot_cif",
    "plot_km", "plot_simon_makuch", "pvalue_text", "risk_table_values", "plot_swimmer",
    "swimmer_events", "plot_zph", "plot_predicted_survival", "plot_cumhaz",
    "needs_inset", "inset_upper_limit", "love_plot", "ps_histogram",
]
