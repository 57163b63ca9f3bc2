"""Renders docs/figures/cif_variances_mgus2.png: the CIF of PCM in survival::mgus2 by sex with
the 95% log-log CI under each variance of cumulative_incidence (run from the repository root)."""
import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt, pandas as pd
from aplcohort.stats.competing import cumulative_incidence
from aplcohort.plots.survival import plot_cif
mg = pd.read_csv("tests/reference/data/mgus2_competing.csv")
fig, axes = plt.subplots(2, 2, figsize=(10, 8), sharex=True, sharey=True)
for ax, v in zip(axes.ravel(), ["gray", "greenwood", "aalen", "ij"]):
    r = cumulative_incidence(mg.etime / 12, mg.event, mg.sex, variance=v)
    plot_cif(r, ax=ax, cause=1, ci=True, risk_table=False, censor_marks=False)
    ax.set_title(f"PCM (cause 1), variance = {v}")
    ax.set_xlabel("years")
    ax.set_ylim(0, 0.35)
fig.suptitle("survival::mgus2: cumulative incidence of PCM by sex, 95% log-log CI by variance")
fig.tight_layout()
fig.savefig("docs/figures/cif_variances_mgus2.png", dpi=110)
