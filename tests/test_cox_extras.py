"""Cox extras (issue 16) against R survival 3.5-3: ties="exact", survfit.coxph / basehaz /
predict, residuals.coxph, concordance, cox.zph transforms and the plot.cox.zph smooth,
time-dependent AUC.

Reference values: tests/reference/cox_extras.json, written by tests/reference/cox_extras.R
(17 significant digits); the R call of each case is in the comment beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.stats import (basehaz, concordance, cox_residuals, cox_zph, coxph, predict_lp,
                             predict_survival, td_auc, zph_smooth)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REF = Path(__file__).resolve().parent / "reference"
R = json.loads((REF / "cox_extras.json").read_text())
DATA = REF / "data"
LUNG = pd.read_csv(DATA / "cox_lung.csv")
LUNGM = pd.read_csv(DATA / "cox_extras_lungm.csv")       # lung, times in months (heavy ties)
VET = pd.read_csv(DATA / "cox_veteran.csv")
OVA = pd.read_csv(DATA / "cox_ovarian.csv")
HEART = pd.read_csv(DATA / "cox_heart.csv")

RTOL = 1e-6       # closed-form quantities at the fitted coefficients
RTOL_FIT = 1e-5   # iterative fits

L3 = dict(time="time", event="event", covariates=["age", "sex", "ph_ecog"],
          categorical={"sex": "M", "ph_ecog": 0})
LM2 = dict(time="time", event="event", covariates=["age", "sex"], categorical={"sex": "M"})
VET4 = dict(time="time", event="status", covariates=["trt", "karno", "age", "celltype"],
            categorical={"celltype": "large"})
OVA3 = dict(time="futime", event="fustat", covariates=["age", "ecog.ps", "rx"])
HEART3 = dict(time="stop", event="event", entry="start",
              covariates=["age", "transplant", "surgery"])

ND_LUNG = pd.DataFrame({"age": [50, 70, 62], "sex": ["M", "F", "F"], "ph_ecog": [0, 1, 2]})
ND_M = pd.DataFrame({"age": [55, 70], "sex": ["M", "F"]})

# key in cox_extras.json -> (data, coxph arguments, newdata of survfit)
CASES = {
    # coxph(Surv(time, event) ~ age + sex + ph_ecog_f, data = L)
    "lung": (LUNG, L3, ND_LUNG),
    # coxph(Surv(time, event) ~ age + sex + ph_ecog_f, data = L, ties = "breslow")
    "lung_breslow": (LUNG, dict(L3, ties="breslow"), ND_LUNG),
    # coxph(Surv(time, event) ~ age + sex + ph_ecog_f, data = L, weights = w)  (robust default)
    "lung_w": (LUNG, dict(L3, weights="w"), ND_LUNG),
    # coxph(Surv(time, event) ~ age + ph_ecog + strata(sex), data = L)
    "lung_strata": (LUNG, dict(time="time", event="event", covariates=["age", "ph_ecog"],
                               strata="sex"),
                    pd.DataFrame({"age": [50, 70], "ph_ecog": [0, 2]})),
    # coxph(Surv(time, event) ~ age + sex, data = LM, ties = "efron" / "breslow")
    "lungm_efron": (LUNGM, LM2, ND_M),
    "lungm_breslow": (LUNGM, dict(LM2, ties="breslow"), ND_M),
    # coxph(Surv(time, event) ~ age + sex, data = LM, ties = "exact"): survfit uses the
    # Breslow baseline (R: ctype 1 for exact); no score-type residuals (see EXACT)
    "lungm_exact": (LUNGM, dict(LM2, ties="exact"), ND_M),
    # coxph(Surv(time, status) ~ trt + karno + age + celltype, data = V)  (celltype ref large)
    "veteran": (VET, VET4, pd.DataFrame({"trt": [1, 2], "karno": [60, 80], "age": [60, 60],
                                         "celltype": ["squamous", "adeno"]})),
    # coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = ovarian)
    "ovarian": (OVA, OVA3, pd.DataFrame({"age": [50, 65], "ecog.ps": [1, 2], "rx": [1, 2]})),
    # coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = heart)
    "heart": (HEART, HEART3, pd.DataFrame({"age": [-10, 5], "transplant": [0, 1],
                                           "surgery": [0, 1]})),
}
EXACT = {
    # coxph(Surv(time, event) ~ age + sex, data = LM, ties = "exact")
    "lungm_exact": (LUNGM, dict(LM2, ties="exact")),
    # coxph(Surv(time, event) ~ age + sex + strata(inst), data = LM, ties = "exact")
    "lungm_exact_strata": (LUNGM, dict(LM2, ties="exact", strata="inst")),
    # coxph(Surv(time, status) ~ trt + karno + age + celltype, data = V, ties = "exact")
    "veteran_exact": (VET, dict(VET4, ties="exact")),
    # coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = ovarian, ties = "exact")
    "ovarian_exact": (OVA, dict(OVA3, ties="exact")),
    # coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = heart, ties = "exact")
    "heart_exact": (HEART, dict(HEART3, ties="exact")),
}
_FITS = {}


def fit(key):
    if key not in _FITS:
        data, kw = (EXACT[key] if key in EXACT else CASES[key][:2])
        _FITS[key] = coxph(data, **kw)
    return _FITS[key]


def close(actual, desired, rtol=RTOL):
    """assert_allclose with an absolute floor at rtol x the largest reference value (entries
    that are 0 in R -- e.g. a Schoenfeld residual -- are checked on the scale of the rest)."""
    a = np.asarray(actual, float)
    d = np.asarray(desired, float).reshape(a.shape)
    scale = np.nanmax(np.abs(d)) if d.size else 0.0
    np.testing.assert_allclose(a, d, rtol=rtol, atol=rtol * scale * 1e-3)


def _strata_name(label):
    return label.split("=", 1)[-1]


# ------------------------------------------------------------------------ ties = "exact"
@pytest.mark.parametrize("key", sorted(EXACT))
def test_exact_fit_against_r(key):
    res, ref = fit(key), R[key]["fit"]
    close(res.coef, ref["coef"], RTOL_FIT)
    close(res.var, ref["var"], RTOL_FIT)
    close(res.loglik, ref["loglik"], RTOL_FIT)
    tests = res.tests.set_index("test")["statistic"]
    close(tests["score"], ref["score"], RTOL_FIT)
    close(tests["wald"], ref["wald"], RTOL_FIT)
    assert res.choices["ties"] == "exact"


def test_exact_hand_worked():
    # 4 rows, x = 0, 1, 0, 1; deaths of rows 1 and 2 tied at t = 1 (risk set all 4), then row 3
    # alone at t = 2 (risk set rows 3, 4). At beta = 0: L = 1 / C(4, 2) * 1 / 2.
    from aplcohort.stats._coxexact import ExactKernel
    X = np.array([[0.0], [1.0], [0.0], [1.0]])
    k = ExactKernel(X, np.array([1.0, 1.0, 2.0, 3.0]), np.array([1, 1, 1, 0]))
    ll, U, info = k.stats(np.zeros(1))
    assert ll == pytest.approx(-np.log(6) - np.log(2), rel=1e-14)
    # score at 0: sum of dead x minus E[sum x of a random pair] (= 2 * 1/2) + (0 - 1/2)
    assert U[0] == pytest.approx((1 - 1.0) + (0 - 0.5), rel=1e-14)
    # information: Var(sum of a random pair's x) + Var(x of a random one of 2) = 1/3 + 1/4
    assert info[0, 0] == pytest.approx(1 / 3 + 1 / 4, rel=1e-14)
    b = np.array([0.7])
    r = np.exp(X[:, 0] * 0.7)
    pairs = [r[i] * r[j] for i in range(4) for j in range(i + 1, 4)]
    want = np.log(r[0] * r[1] / sum(pairs)) + np.log(r[2] / (r[2] + r[3]))
    assert k.stats(b)[0] == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_score_and_information_are_the_derivatives(seed):
    """Score and information of the exact kernel equal numerical derivatives of its
    log-likelihood (heavy ties, entry times, two strata)."""
    from aplcohort.stats._coxexact import ExactKernel
    rng = np.random.default_rng(seed)
    n = 40
    X = rng.normal(size=(n, 2))
    time = rng.integers(2, 7, n).astype(float)
    entry = np.where(rng.random(n) < 0.3, 1.0, 0.0)
    k = ExactKernel(X, time, (rng.random(n) < 0.7).astype(int), entry=entry,
                    strata=rng.integers(0, 2, n))
    b = rng.normal(scale=0.3, size=2)
    ll, U, info = k.stats(b)
    h = 1e-5
    for a in range(2):
        e = np.zeros(2)
        e[a] = h
        lp, Up, _ = k.stats(b + e)
        lm, Um, _ = k.stats(b - e)
        assert U[a] == pytest.approx((lp - lm) / (2 * h), rel=1e-6, abs=1e-8)
        np.testing.assert_allclose(info[:, a], -(Up - Um) / (2 * h), rtol=1e-6, atol=1e-8)
    assert k.stats(b, need_info=False)[0] == pytest.approx(ll, rel=1e-14)


def test_exact_equals_breslow_without_ties():
    d = OVA.assign(futime=OVA["futime"] + np.arange(len(OVA)) * 1e-3)   # no tied times
    a = coxph(d, **dict(OVA3, ties="exact"))
    b = coxph(d, **dict(OVA3, ties="breslow"))
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-10)


def test_exact_rejects_weights_and_robust():
    with pytest.raises(InputError, match="weights are not supported with ties='exact'"):
        coxph(LUNG, **dict(L3, ties="exact", weights="w"))
    with pytest.raises(InputError, match="robust / cluster variance is not available"):
        coxph(LUNG, **dict(L3, ties="exact", robust=True))
    with pytest.raises(InputError, match="schoenfeld residuals are not available"):
        cox_residuals(fit("lungm_exact"), "schoenfeld")


# ------------------------------------------------------------------------ predictions
@pytest.mark.parametrize("key", sorted(CASES))
def test_predict_and_basehaz_against_r(key):
    res, ref = fit(key), R[key]
    close(predict_lp(res), ref["lp"])
    close(predict_lp(res, type="risk"), ref["risk"])
    close(res.predict(type="risk"), ref["risk"])
    bh, rb = basehaz(res), pd.DataFrame(ref["basehaz"])
    bu = basehaz(res, centered=False)
    if "strata" in rb and rb["strata"].notna().all():
        for s in rb["strata"].unique():
            sel, rsel = bh["strata"] == _strata_name(s), rb["strata"] == s
            close(bh.loc[sel, "time"], rb.loc[rsel, "time"])
            close(bh.loc[sel, "hazard"], rb.loc[rsel, "hazard"])
            close(bu.loc[sel, "hazard"], rb.loc[rsel, "hazard_uncentered"])
    else:
        close(bh["time"], rb["time"])
        close(bh["hazard"], rb["hazard"])
        close(bu["hazard"], rb["hazard_uncentered"])


@pytest.mark.parametrize("key", sorted(CASES))
def test_survfit_newdata_against_r(key):
    data, kw, nd = CASES[key]
    res, ref = fit(key), R[key]
    cur = predict_survival(res, nd)
    tab, ch = cur.table, cur.cumhaz
    for i, c in enumerate(ref["survfit"]):
        c = pd.DataFrame(c)
        for s in c["strata"].unique():
            g = str(nd.index[i]) if s == "" else f"{nd.index[i]}, {_strata_name(s)}"
            sub, subc, rc = tab[tab["group"] == g], ch[ch["group"] == g], c[c["strata"] == s]
            assert len(sub) == len(rc), g
            close(sub["time"], rc["time"])
            close(sub["estimate"], rc["surv"])
            close(subc["std_err"], rc["std_err_cumhaz"])
            close(sub["std_err"], rc["surv"] * rc["std_err_cumhaz"])
            close(subc["cumhaz"], rc["cumhaz"])
            close(sub["lower"], rc["lower"])
            close(sub["upper"], rc["upper"])
            close(sub["n_risk"], rc["n_risk"])
            close(sub["n_event"], rc["n_event"])
            close(sub["n_censor"], rc["n_censor"])


@pytest.mark.parametrize("key", sorted(CASES))
def test_survfit_at_means_against_r(key):
    cur, ref = predict_survival(fit(key)), pd.DataFrame(R[key]["survfit_means"])
    strata = ref["strata"].unique() if "strata" in ref else [None]
    for s in strata:
        g = "mean covariates" if s is None else f"mean covariates, {_strata_name(s)}"
        sel = cur.table["group"] == g
        rc = ref if s is None else ref[ref["strata"] == s]
        close(cur.table.loc[sel, "estimate"], rc["surv"])
        close(cur.cumhaz.loc[cur.cumhaz["group"] == g, "std_err"], rc["std_err_cumhaz"])
        close(cur.table.loc[sel, "lower"], rc["lower"])
        close(cur.table.loc[sel, "upper"], rc["upper"])


def test_survfit_profile_in_its_stratum_and_reference_sample():
    res, ref = fit("lung_strata"), R["lung_strata"]
    # survfit(f, newdata = data.frame(age = c(50, 70), ph_ecog = c(0, 2), sex = c("F", "M")))
    nd = pd.DataFrame({"age": [50, 70], "ph_ecog": [0, 2], "sex": ["F", "M"]},
                      index=["a", "b"])
    cur = res.survfit(nd)
    assert cur.groups == ("a", "b")
    for g, rc in zip(cur.groups, ref["survfit_in_strata"]):
        sub = cur.table[cur.table["group"] == g]
        close(sub["estimate"], rc["surv"])
        close(cur.cumhaz.loc[cur.cumhaz["group"] == g, "std_err"], rc["std_err_cumhaz"])
        close(sub["lower"], rc["lower"])
    # predict(f, reference = "sample")
    close(predict_lp(res, reference="sample"), ref["predict_sample"])
    with pytest.raises(InputError, match="must have the strata column"):
        predict_lp(res, pd.DataFrame({"age": [50], "ph_ecog": [0]}))
    with pytest.raises(InputError, match=r"strata \['X'\] not found"):
        res.survfit(pd.DataFrame({"age": [50], "ph_ecog": [0], "sex": ["X"]}))


def test_survfit_conf_types_and_shape():
    res = fit("lung")
    cur = res.survfit(ND_LUNG, conf_type="plain")
    t = cur.table
    s, se = t["estimate"], t["std_err"]
    np.testing.assert_allclose(t["lower"], np.maximum(s - 1.959963984540054 * se, 0), rtol=1e-12)
    ll = res.survfit(ND_LUNG, conf_type="log-log").table
    assert ((ll["lower"] <= ll["estimate"] + 1e-15) & (ll["estimate"] <= ll["upper"] + 1e-15)).all()
    assert list(t.columns) == ["group", "cause", "time", "estimate", "std_err", "lower",
                               "upper", "n_risk", "n_event", "n_censor"]
    assert (np.diff(t[t["group"] == "0"]["estimate"]) <= 0).all()
    m = cur.median()
    assert list(m["group"]) == ["0", "1", "2"]
    at = cur.at([100.0, 2000.0])
    assert at["note"].iloc[1] != "" and np.isnan(at["estimate"].iloc[1])
    json.dumps(cur.to_dict())
    with pytest.raises(InputError, match="conf_type must be one of"):
        res.survfit(ND_LUNG, conf_type="logit")
    with pytest.raises(InputError, match="not a level of the model"):
        res.survfit(ND_LUNG.assign(sex=["M", "F", "X"]))
    with pytest.raises(InputError, match="lacks the model covariate"):
        res.survfit(ND_LUNG.drop(columns="age"))


def test_predicted_survival_is_baseline_to_the_power_of_risk():
    """S(t | x) = S0(t)^exp((x - means) beta): the profile curve and basehaz agree."""
    res = fit("veteran")
    nd = CASES["veteran"][2]
    cur = res.survfit(nd)
    bh = res.basehaz()
    lp = res.predict(nd).to_numpy()
    for i, g in enumerate(cur.groups):
        np.testing.assert_allclose(cur.table.loc[cur.table["group"] == g, "estimate"],
                                   np.exp(-bh["hazard"].to_numpy() * np.exp(lp[i])), rtol=1e-12)


# ------------------------------------------------------------------------ residuals
RES_TYPES = ["martingale", "deviance", "score", "schoenfeld", "scaledsch", "dfbeta", "dfbetas"]


@pytest.mark.parametrize("key", sorted(set(CASES) - set(EXACT)))
def test_residuals_against_r(key):
    res, ref = fit(key), R[key]["resid"]
    terms = list(res.terms["term"])
    for rtype in RES_TYPES:
        r = cox_residuals(res, rtype)
        if rtype in ("martingale", "deviance"):
            assert list(r.columns) == [rtype] and r.index.equals(CASES[key][0].index)
            close(r[rtype], ref[rtype])
        elif rtype in ("schoenfeld", "scaledsch"):
            want = np.asarray(ref[rtype], float).reshape(len(r), -1)
            if "strata" in r.columns:     # R orders strata by factor level (M, F here)
                order = np.argsort(r["strata"].map({"M": 0, "F": 1}).to_numpy(), kind="stable")
                r = r.iloc[order]
            close(r["time"], ref["schoenfeld_time"])
            close(r[terms].to_numpy(), want)
        else:
            assert list(r.columns) == terms
            close(r.to_numpy(), np.asarray(ref[rtype], float).reshape(r.shape))


@pytest.mark.parametrize("key", sorted(EXACT))
def test_exact_residuals_against_r(key):
    res, ref = fit(key), R[key]["resid"]
    m = cox_residuals(res)["martingale"]
    close(m, ref["martingale"])
    dev = cox_residuals(res, "deviance")["deviance"].to_numpy()
    if key == "heart_exact":
        # R 3.5-3 returns the martingale residuals for type = "deviance" on an exact
        # (start, stop] fit (its method field reads "coxph"); check the deviance formula
        # on R's martingale residuals instead
        mr = np.asarray(ref["martingale"])
        st = HEART["event"].to_numpy(float)
        want = np.sign(mr) * np.sqrt(-2 * (mr + np.where(st == 0, 0, st * np.log(
            np.where(st == 0, 1, st - mr)))))
        close(dev, want)
    else:
        close(dev, ref["deviance"])


def test_residual_identities():
    res = fit("lung")
    mart = cox_residuals(res)["martingale"]
    assert abs(mart.sum()) < 1e-10                        # martingale residuals sum to 0
    score = cox_residuals(res, "score")
    # score residuals add up to the score vector (about 0 at the MLE)
    np.testing.assert_allclose(score.sum(axis=0), res._fit.score, rtol=1e-6, atol=1e-12)
    dfb = cox_residuals(res, "dfbeta")
    np.testing.assert_allclose(dfb.to_numpy(), score.to_numpy() @ res.var, rtol=1e-12)
    w = cox_residuals(fit("lung_w"), "martingale", weighted=True)["martingale"]
    np.testing.assert_allclose(w, cox_residuals(fit("lung_w"))["martingale"] * LUNG["w"])
    with pytest.raises(InputError, match="type must be one of"):
        cox_residuals(res, "pearson")


# ------------------------------------------------------------------------ concordance
@pytest.mark.parametrize("key", sorted(CASES))
def test_concordance_against_r(key):
    res, ref = fit(key), R[key]["conc"]
    c = concordance(res)
    t = c.table
    close(t["concordance"].iloc[0], ref["concordance"])
    close(t["std_err"].iloc[0], ref["std_err"])
    close(t.iloc[0, 5:].to_numpy(float), ref["count"])
    assert c.estimate == t["concordance"].iloc[0]
    if "strata" in ref:
        for i, s in enumerate(ref["strata"]):
            row = t[t["strata"] == s].iloc[0]
            close(row["concordance"], ref["strata_concordance"][i])
            close(row["std_err"], ref["strata_std_err"][i])
            close(row.iloc[5:].to_numpy(float), ref["strata_count"][i])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concordance_counts_equal_brute_force_pairs(seed):
    """The tree sweep counts what the definition says, pair by pair (ties in time and in the
    predictor, weights, (entry, stop] rows)."""
    from aplcohort.stats.concordance import _count
    rng = np.random.default_rng(seed)
    n = 60
    time = rng.integers(2, 15, n).astype(float)
    entry = np.where(rng.random(n) < 0.4, rng.integers(0, 2, n).astype(float), 0.0)
    event = (rng.random(n) < 0.6).astype(float)
    lp = rng.integers(0, 6, n).astype(float)
    w = rng.integers(1, 4, n).astype(float)
    counts, imat = _count(time, event, entry, lp, w)
    want = np.zeros(5)
    inf = np.zeros((n, 3))
    for i in range(n):
        if event[i] != 1:
            continue
        for j in range(n):
            if j == i:
                continue
            if time[j] == time[i] and event[j] == 1:
                if j > i:
                    want[4 if lp[i] == lp[j] else 3] += w[i] * w[j]
                continue
            if not (entry[j] < time[i] and (time[j] > time[i] or
                                            (time[j] == time[i] and event[j] == 0))):
                continue
            k = 0 if lp[i] > lp[j] else (1 if lp[i] < lp[j] else 2)
            want[k] += w[i] * w[j]
            inf[i, k] += w[j]
            inf[j, k] += w[i]
    np.testing.assert_allclose(counts, want, rtol=1e-13)
    np.testing.assert_allclose(imat, inf, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("key", ["lung", "veteran"])
def test_td_auc_against_r_code(key):
    res, ref = fit(key), R[key]
    close(td_auc(res, ref["auc_times"])["auc"], ref["auc"])
    c = res.concordance(times=ref["auc_times"])
    close(c.auc["auc"], ref["auc"])
    assert "time-dependent AUC" in c.tables


def test_concordance_errors_and_metadata():
    c = concordance(fit("lung"), conf_level=0.9)
    z = 1.6448536269514722
    row = c.table.iloc[0]
    assert row["lower"] == pytest.approx(row["concordance"] - z * row["std_err"], rel=1e-12)
    json.dumps(c.to_dict())
    with pytest.raises(InputError, match="needs right-censored data"):
        td_auc(fit("heart"), [100])
    with pytest.raises(InputError, match="unweighted fits only"):
        td_auc(fit("lung_w"), [100])
    with pytest.raises(InputError, match="0 controls"):
        td_auc(fit("lung"), [5000])


# ------------------------------------------------------------------------ cox.zph
ZPH_KEYS = ["lung", "lung_w", "lung_strata", "veteran", "ovarian", "heart"]


@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
@pytest.mark.parametrize("key", ZPH_KEYS)
def test_zph_transforms_residuals_and_smooth_against_r(key, transform):
    res, ref = fit(key), R[key]["zph"][transform]
    z = cox_zph(res, transform=transform)
    # (R names the factor ph_ecog_f in the reference script)
    assert list(z.table["term"]) == [t.replace("ph_ecog_f", "ph_ecog") for t in np.atleast_1d(ref["term"])]
    close(z.table["chisq"], ref["chisq"])
    close(z.table["p"], ref["p"])
    terms = [t for t in z.table["term"] if t != "GLOBAL"]
    r = z.residuals
    if "strata" in r.columns:
        r = r.iloc[np.argsort(r["strata"].map({"M": 0, "F": 1}).to_numpy(), kind="stable")]
    close(r["x"], ref["x"])
    close(r["time"], ref["time"])
    close(r[terms].to_numpy(), np.asarray(ref["y"], float).reshape(len(r), -1))
    close(z.var, np.asarray(ref["var"], float).reshape(z.var.shape))
    for i, term in enumerate(terms):
        sm = zph_smooth(z, term)
        close(sm["x"], ref["smooth"][i]["x"])
        close(sm["fit"], ref["smooth"][i]["yhat"])
        close(sm["upper"], ref["smooth"][i]["upper"])
        close(sm["lower"], ref["smooth"][i]["lower"])


def test_aliased_column_against_r():
    # La$a2 <- 2 * La$age; f <- coxph(Surv(time, event) ~ age + a2 + sex, data = La)
    ref = R["lung_aliased"]
    with pytest.warns(Warning, match="not estimable"):
        res = coxph(LUNG.assign(a2=2 * LUNG["age"]), time="time", event="event",
                    covariates=["age", "a2", "sex"], categorical={"sex": "M"})
    z = res.zph()                                   # cox.zph(f): the NA coefficient dropped
    assert list(z.table["term"]) == list(ref["zph_term"])
    close(z.table["chisq"], ref["zph_chisq"])
    close(z.residuals[["age", "sex"]].to_numpy(), ref["zph_y"])
    close(res.residuals()["martingale"], ref["martingale"])
    close(res.concordance().estimate, ref["concordance"])
    assert res.residuals("score")["a2"].isna().all()


def test_zph_errors():
    z = cox_zph(fit("lung"))
    with pytest.raises(InputError, match="transform must be one of"):
        cox_zph(fit("lung"), transform="sqrt")
    with pytest.raises(InputError, match="needs positive times"):
        cox_zph(coxph(LUNG.assign(time=LUNG["time"] - LUNG["time"].min()), **L3),
                transform="log")
    with pytest.raises(InputError, match="is not one of"):
        zph_smooth(z, "GLOBAL")


# ------------------------------------------------------------------------ plots
def test_plot_zph_draws_the_smooth_numbers():
    from aplcohort.plots.diagnostics import plot_zph
    z = cox_zph(fit("veteran"), transform="log")
    ax = plot_zph(z, "karno")
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    sm = zph_smooth(z, "karno")
    np.testing.assert_allclose(lines["zph:fit"].get_xdata(), np.exp(sm["x"]))
    np.testing.assert_allclose(lines["zph:fit"].get_ydata(), sm["fit"])
    np.testing.assert_allclose(lines["zph:upper"].get_ydata(), sm["upper"])
    np.testing.assert_allclose(lines["zph:lower"].get_ydata(), sm["lower"])
    pts = [c for c in ax.collections if c.get_gid() == "zph:residuals"][0].get_offsets()
    assert len(pts) == len(z.residuals)
    assert ax.get_xscale() == "log"
    beta = float(fit("veteran").terms.set_index("term").loc["karno", "coef"])
    assert lines["zph:coef"].get_ydata()[0] == pytest.approx(beta, rel=1e-12)
    plt.close(ax.figure)
    ax = plot_zph(cox_zph(fit("veteran")), "karno")        # km: times as tick labels
    assert len(ax.get_xticklabels()) == 8
    plt.close(ax.figure)


def test_plot_predicted_survival_and_cumhaz_draw_the_tables():
    from aplcohort.plots.diagnostics import plot_cumhaz, plot_predicted_survival
    res = fit("lung")
    cur = res.survfit(ND_LUNG)
    ax = plot_predicted_survival(cur)
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    for g in cur.groups:
        sub = cur.table[cur.table["group"] == g]
        np.testing.assert_allclose(lines[f"curve:{g}"].get_ydata()[1:], sub["estimate"])
    plt.close(ax.figure)
    bh = fit("lung_strata").basehaz()
    ax = plot_cumhaz(bh)
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    assert set(lines) == {"cumhaz:F", "cumhaz:M"}
    np.testing.assert_allclose(lines["cumhaz:M"].get_ydata()[1:],
                               bh.loc[bh["strata"] == "M", "hazard"])
    plt.close(ax.figure)
    ax = plot_cumhaz(cur)
    assert len(ax.get_lines()) == 3
    plt.close(ax.figure)
    with pytest.raises(InputError, match="plot_cumhaz takes"):
        plot_cumhaz(pd.DataFrame({"x": [1]}))


# ------------------------------------------------------------------------ plans
def test_plan_cox_extras_equal_the_python_api(tmp_path):
    """kind: cox with the issue-16 keys gives the numbers of the Python API on the same rows."""
    from aplcohort.plan.kinds import run_analysis
    from aplcohort.plan.runner import plan_context
    from aplcohort.plan.spec import parse_analysis

    d = LUNG.assign(patient_id=[f"P{i:03d}" for i in range(len(LUNG))])
    path = tmp_path / "lung.csv"
    d.to_csv(path, index=False)
    plan = {"plan": "lung", "data": {"source": str(path)},
            "endpoints": {"os": {"time": "time", "event": "event", "unit": "days"}},
            "analyses": [{"id": "c", "kind": "counts", "columns": ["sex"]}]}
    ctx = plan_context(plan, data=path, figures=False)
    a = parse_analysis({"id": "cx", "kind": "cox", "endpoint": "os",
                        "covariates": ["age", "sex"], "categorical": {"sex": "M"},
                        "concordance": True, "auc_times": [180.0, 365.0],
                        "residuals": ["martingale", "schoenfeld"], "basehaz": "zero",
                        "zph": True, "zph_transform": "log",
                        "predict": {"60 F": {"age": 60, "sex": "F"}},
                        "predict_times": [365.0]})
    out = run_analysis(ctx, a)
    assert out.status == "ok", out.reason
    api = coxph(LUNG, time="time", event="event", covariates=["age", "sex"],
                categorical={"sex": "M"})
    c = api.concordance(times=[180.0, 365.0])
    s = out.summary
    assert s["concordance"][0]["concordance"] == pytest.approx(c.estimate, rel=1e-12)
    assert [r["auc"] for r in s["auc"]] == pytest.approx(list(c.auc["auc"]), rel=1e-12)
    at = api.survfit(pd.DataFrame({"age": [60], "sex": ["F"]}, index=["60 F"])).at([365.0])
    assert s["predicted"]["at"][0]["estimate"] == pytest.approx(at["estimate"].iloc[0], rel=1e-12)
    assert s["zph_transform"] == "log"
    assert s["zph"][0]["chisq"] == pytest.approx(
        float(api.zph("log").table["chisq"].iloc[0]), rel=1e-12)
    tables = {name: tab for name, _cap, tab in out.tables}
    mart = tables["residuals_martingale"]
    assert list(mart.columns) == ["patient_id", "martingale"]
    np.testing.assert_allclose(mart["martingale"], api.residuals()["martingale"], rtol=1e-12)
    assert len(tables["residuals_schoenfeld"]) == int(LUNG["event"].sum())
    np.testing.assert_allclose(tables["basehaz"]["hazard"],
                               api.basehaz(centered=False)["hazard"], rtol=1e-12)
