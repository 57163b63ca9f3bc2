"""The registry of analysis kinds: one declarative settings schema per kind.

Each :class:`Kind` names the handler that runs it (in :mod:`aplcohort.plan.kinds`),
the estimator it calls, the shape of its result (``"curves"``, ``"terms"``,
``"test"``, ``"table"``, ``"figure"``) and a pydantic model of the settings it
accepts. The model is the *only* list of accepted keys: :mod:`aplcohort.plan.spec`
validates plans with it, the handlers read the validated model, ``docs/plans.md``
is generated from it, and ``tests/test_plan_registry.py`` shows that every key it
accepts changes the output. Defaults are the estimators' (R's) defaults.

Fields carry metadata in ``json_schema_extra``:

``r``
    the R argument the setting corresponds to (shown in the docs);
``column``
    the value names cohort column(s) (checked against the data before anything runs).

>>> from aplcohort.plan.registry import KINDS
>>> KINDS["km"].model.model_fields["conf_type"].default
'log'
>>> sorted(KINDS)[:3]
['cause_specific_cox', 'cif', 'clfs']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..stats._padjust import METHODS as ADJUST_METHODS

# allowed words, shared with the estimators (R names)
KM_CONF_TYPES = ("log", "plain", "log-log")          # survfit conf.type
CIF_CONF_TYPES = ("log-log", "log", "plain")         # cmprsk / etm transforms
TESTS = ("logrank", "peto", "fleming-harrington", "gehan", "tarone-ware", "peto-prentice")
TIES = ("efron", "breslow")                           # (cox also takes "exact")

Scalar = Union[str, int, float, bool]


def _f(default: Any = ..., *, r: str = "", column: bool = False, doc: str = "", typ: str = "",
       **kw):
    extra: dict[str, Any] = {"r": r, "column": column}
    if typ:                       # the type as the docs name it (plan-level keys)
        extra["type"] = typ
    return Field(default, description=doc, json_schema_extra=extra, **kw)


#: keys whose values are times since the endpoint's time zero: never negative (a KM
#: estimate "at -5 months" is R's value at time 0, S(0), which a reader takes for S(-5))
_TIME_LISTS = ("times", "ticks", "landmarks", "predict_times", "auc_times")


class _M(BaseModel):
    # defer_build: a model's validator is built when a plan first uses its kind (a run
    # uses a dozen of the ~40 kinds; building them all at import took ~0.15 s)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @model_validator(mode="after")
    def _times_since_time_zero(self):
        for key in _TIME_LISTS:
            vals = getattr(self, key, None)
            if isinstance(vals, (list, tuple)):
                bad = [v for v in vals if not (isinstance(v, (int, float)) and v >= 0
                                               and v != float("inf"))]
                if bad:
                    raise ValueError(f"{key}: {bad} not allowed; these are times since the "
                                     f"endpoint's time zero, finite and >= 0")
        return self


class AnalysisBase(_M):
    """Keys every analysis has."""

    id: str = _f(doc="key of the analysis in results.json", min_length=1)
    kind: str = _f(doc="analysis kind")
    title: Optional[str] = _f(None, doc="heading in the report and `title` in results.json")
    where: Optional[str] = _f(None, doc="expression restricting the analysis set; left-out "
                                        "patients are recorded with the reason")


class _Table(_M):
    table: bool = _f(True, doc="false: no table is written for this analysis")


class _Figure(_M):
    figure: bool = _f(True, doc="false: no figure is drawn for this analysis")


class _Endpoint(_M):
    endpoint: str = _f(doc="id of an endpoint defined under `endpoints`", r="Surv(time, status)")


class _Group(_M):
    group: str = _f(doc="grouping column", column=True, r="formula right-hand side")
    order: Optional[list[Scalar]] = _f(None, doc="group levels in order; the first is the reference",
                                       r="factor(levels=)")


class _OptGroup(_M):
    group: Optional[str] = _f(None, doc="grouping column (none: one curve)", column=True,
                              r="formula right-hand side")
    order: Optional[list[Scalar]] = _f(None, doc="group levels in order; the first is the reference",
                                       r="factor(levels=)")


class _Curve(_M):
    times: Optional[list[float]] = _f(None, doc="times at which estimates are reported",
                                      r="summary(times=)")
    ticks: Optional[list[float]] = _f(None, doc="x-axis / risk-table times of the figure")
    label: Optional[str] = _f(None, doc="y-axis label and table captions (default: the endpoint's label)")


def _require_figure(m, keys=("ticks",)):
    if not getattr(m, "figure", True):
        for k in keys:
            if getattr(m, k, None) is not None:
                raise ValueError(f"'{k}' only affects the figure, and figure is false")


def _require_pairwise(m):
    if "adjust" in m.model_fields_set and not m.pairwise:
        raise ValueError("'adjust' only applies to pairwise comparisons; set pairwise: true")


def _order_needs_group(m):
    if getattr(m, "order", None) is not None and getattr(m, "group", None) is None:
        raise ValueError("'order' needs 'group'")


class _Adjust(_M):
    # named `propensity` because `adjust` is the p-value adjustment of pairwise comparisons
    propensity: Optional[dict[str, Any]] = _f(
        None, doc="propensity-score adjustment shown beside the unadjusted result, balance first: "
                  "{method: iptw|matching, covariates: [...], estimand, trim, truncate, ratio, "
                  "caliper, ...}; the treatment is `group`, or `treatment: COLUMN` on cox and "
                  "finegray (docs/adjustment.md)",
        r="MatchIt::matchit / survfit or coxph(weights =, robust = TRUE)")

    @model_validator(mode="after")
    def _adjust_rules(self):
        if self.propensity is None:
            return self
        from ..adjust.plan import _check_settings
        rest = dict(self.propensity)
        treatment = rest.pop("treatment", None)
        if "group" in type(self).model_fields:   # km, logrank, cif, table1: the treatment is `group`
            if treatment is not None:
                raise ValueError("'propensity.treatment' is not used here: the treatment is 'group'")
            if getattr(self, "group", None) is None:
                raise ValueError("'propensity' needs 'group' (the treatment whose groups are "
                                 "compared)")
            if getattr(self, "strata", None) is not None:
                raise ValueError("'propensity' and 'strata' cannot be combined (the adjusted "
                                 "analysis is not stratified)")
        elif not isinstance(treatment, str):
            raise ValueError("'propensity' needs 'treatment: COLUMN' (the treatment whose "
                             "groups are compared)")
        # unknown keys with did-you-mean, keys of the other method, strict types, ranges and
        # allowed words (columns and levels: spec.validate_plan / runner._check_levels)
        _check_settings(rest, "propensity")
        tr = treatment if treatment is not None else getattr(self, "group", None)
        if tr in rest["covariates"]:
            raise ValueError(f"propensity.covariates names the treatment {tr!r}: the score "
                             "models the treatment from the other covariates")
        return self


class KM(_Table, _Figure, _Curve, _OptGroup, _Endpoint, _Adjust, AnalysisBase):
    strata: Optional[str] = _f(None, column=True, doc="stratified test and hr: true Cox model "
                               "(curves stay by group)",
                               r="survdiff(strata())")
    conf_type: Literal["log", "plain", "log-log"] = _f("log", r="survfit(conf.type=)",
                                                       doc="confidence-interval transform")
    conf_level: float = _f(0.95, gt=0, lt=1, r="survfit(conf.int=)")
    test: Literal["logrank", "peto", "fleming-harrington", "gehan", "tarone-ware", "peto-prentice",
                  "none"] = _f(
        "logrank", r="survdiff(rho=); other weights as survMisc::comp",
        doc="test comparing the groups (none: no test); peto = Peto-Peto, R survdiff rho = 1 "
            "(pooled KM S(t-)); peto-prentice = Stata's peto (prod(1 - d/(n+1)) at t)")
    rho: float = _f(0.0, ge=0, r="survdiff(rho=)", doc="G-rho weight of the log-rank test (test: logrank)")
    p: float = _f(0.0, ge=0, r="survMisc::comp FH_p",
                  doc="Fleming-Harrington p (test: fleming-harrington), as the logrank kind")
    q: float = _f(0.0, ge=0, r="survMisc::comp FH_q",
                  doc="Fleming-Harrington q (test: fleming-harrington), as the logrank kind")
    pairwise: bool = _f(False, r="survminer::pairwise_survdiff",
                        doc="pairwise comparisons (needs a test)")
    adjust: Literal[ADJUST_METHODS] = _f("holm", r="p.adjust(method=)", doc="p adjustment of pairwise tests")
    hr: bool = _f(False, r="coxph(Surv ~ group)", doc="hazard ratios of each group vs the reference")
    median_followup: bool = _f(False, r="reverse Kaplan-Meier (prodlim)",
                               doc="median follow-up by reverse Kaplan-Meier")
    landmarks: Optional[list[float]] = _f(None, doc="landmark times of the immortal-time comparison "
                                          "(needs group; used when the guard fires)")
    ctype: Literal[1, 2] = _f(1, r="survfit(ctype=)",
                              doc="cumulative hazard: 1 Nelson-Aalen, 2 Fleming-Harrington "
                                  "(2 needs cumhaz: true or stype: 2, where it shows)")
    stype: Literal[1, 2] = _f(1, r="survfit(stype=)",
                              doc="survival: 1 Kaplan-Meier, 2 exp(-cumulative hazard)")
    start_time: Optional[float] = _f(None, r="survfit(start.time=)",
                                     doc="conditional survival: curves of the patients still "
                                         "followed at this time (endpoint unit)")
    cumhaz: bool = _f(False, r="plot(survfit, cumhaz=TRUE)",
                      doc="cumulative hazard table (and figure) beside the survival curves")

    @model_validator(mode="after")
    def _check(self):
        _order_needs_group(self)
        _require_pairwise(self)
        _require_figure(self)
        if self.group is None:
            for k in ("strata", "hr", "pairwise"):
                if k in self.model_fields_set and getattr(self, k):
                    raise ValueError(f"'{k}' needs 'group'")
            if "test" in self.model_fields_set:
                raise ValueError("'test' needs 'group'")
        if self.rho and self.test != "logrank":
            raise ValueError("'rho' applies to test: logrank only")
        if (self.p or self.q) and self.test != "fleming-harrington":
            raise ValueError("'p' and 'q' apply to test: fleming-harrington only")
        if self.test == "none":
            # pairwise comparisons are tests too (adjust without pairwise is refused above)
            for k in ("strata", "rho", "pairwise"):
                if k == "strata" and self.hr:
                    continue        # the hazard ratio's Cox model is stratified by it
                if k in self.model_fields_set:
                    raise ValueError(f"'{k}' has no effect with test: none"
                                     + (" (nor without hr: true)" if k == "strata" else ""))
        if self.group is None and self.landmarks is not None:
            raise ValueError("'landmarks' needs 'group' (the treatment groups whose immortal "
                             "time they address)")
        if self.ctype == 2 and self.stype == 1 and not self.cumhaz:
            raise ValueError("'ctype: 2' changes only the cumulative hazard, which is shown with "
                             "cumhaz: true or used by stype: 2; with neither the curves are the "
                             "Kaplan-Meier ones whatever ctype is; set cumhaz: true or stype: 2, "
                             "or drop ctype")
        return self


class Logrank(_Table, _Group, _Endpoint, _Adjust, AnalysisBase):
    strata: Optional[str] = _f(None, column=True, r="survdiff(strata())", doc="stratified test")
    test: Literal["logrank", "peto", "fleming-harrington", "gehan", "tarone-ware",
                  "peto-prentice"] = _f(
        "logrank", r="survdiff(rho=); other weights as survMisc::comp",
        doc="weights of the test; peto = Peto-Peto, R survdiff rho = 1 (pooled KM S(t-)); "
            "peto-prentice = Stata's peto (prod(1 - d/(n+1)) at t)")
    rho: float = _f(0.0, ge=0, r="survdiff(rho=)", doc="G-rho weight (test: logrank)")
    p: float = _f(0.0, ge=0, r="survMisc::comp FH_p", doc="Fleming-Harrington p (test: fleming-harrington)")
    q: float = _f(0.0, ge=0, r="survMisc::comp FH_q", doc="Fleming-Harrington q (test: fleming-harrington)")
    trend: bool = _f(False, r="survMisc::comp trend test", doc="test for trend across ordered groups")
    scores: Optional[list[float]] = _f(None, doc="scores of the ordered groups (trend: true)")
    pairwise: bool = _f(False, r="pairwise_survdiff", doc="pairwise comparisons")
    adjust: Literal[ADJUST_METHODS] = _f("holm", r="p.adjust(method=)", doc="p adjustment of pairwise tests")
    landmarks: Optional[list[float]] = _f(None, doc="landmark times of the immortal-time comparison")

    @model_validator(mode="after")
    def _check(self):
        _require_pairwise(self)
        if self.rho and self.test != "logrank":
            raise ValueError("'rho' applies to test: logrank only")
        if (self.p or self.q) and self.test != "fleming-harrington":
            raise ValueError("'p' and 'q' apply to test: fleming-harrington only")
        if self.scores is not None and not self.trend:
            raise ValueError("'scores' needs trend: true")
        if self.trend and (self.test != "logrank" or self.pairwise):
            raise ValueError("trend: true is a log-rank trend test; it takes no 'test' other than "
                             "logrank and no pairwise")
        return self


class RMST(_Table, _Group, _Endpoint, AnalysisBase):
    tau: Optional[float] = _f(None, gt=0, r="survRM2::rmst2(tau=)",
                              doc="horizon (endpoint unit); none: the smallest of the groups' "
                                  "largest observed times; rejected beyond what both curves support")
    conf_level: float = _f(0.95, gt=0, lt=1, r="survRM2::rmst2(alpha = 1 - conf_level)")


class _CategoricalInCovariates(_M):
    """Rule across keys: every `categorical` column is one of the `covariates`."""

    @model_validator(mode="after")
    def _cat_in_covariates(self):
        extra = sorted(set(getattr(self, "categorical", None) or {})
                       - set(getattr(self, "covariates", None) or ()))
        if extra:
            raise ValueError(f"categorical column(s) {extra} are not among the covariates")
        return self


class _Regression(_CategoricalInCovariates):
    covariates: list[str] = _f(doc="covariate columns", column=True, r="formula right-hand side",
                               min_length=1)
    categorical: Optional[dict[str, Scalar]] = _f(None, column=True,
                                                  doc="{column: reference level} of categorical covariates",
                                                  r="relevel(ref=)")
    conf_level: float = _f(0.95, gt=0, lt=1, r="summary(conf.int=)")


COX_RESIDUALS = ("martingale", "deviance", "score", "schoenfeld", "scaledsch", "dfbeta",
                 "dfbetas")                          # residuals.coxph type


class Cox(_Table, _Figure, _Regression, _Endpoint, _Adjust, AnalysisBase):
    strata: Optional[str] = _f(None, column=True, r="coxph(strata())")
    ties: Literal["efron", "breslow", "exact"] = _f("efron", r="coxph(ties=)")
    robust: Optional[bool] = _f(None, r="coxph(robust=)",
                                doc="sandwich variance; none follows R (robust when cluster is given)")
    cluster: Optional[str] = _f(None, column=True, r="coxph(cluster=)", doc="cluster column (implies robust)")
    univariable: bool = _f(False, doc="univariable models beside the multivariable one")
    firth: bool = _f(False, r="coxphf::coxphf", doc="Firth-penalized likelihood")
    zph: bool = _f(False, r="cox.zph(transform='km')", doc="proportional-hazards test")
    zph_transform: Literal["km", "rank", "log", "identity"] = _f(
        "km", r="cox.zph(transform=)", doc="time transform of the PH test (needs zph: true)")
    zph_plot: bool = _f(False, r="plot(cox.zph(fit))",
                        doc="one figure per term: scaled Schoenfeld residuals, spline smooth and "
                            "±2 SE band (needs zph: true)")
    concordance: bool = _f(False, r="concordance(fit)",
                           doc="Harrell's C with its standard error (overall and by stratum; "
                               "with `cluster:` the grouped jackknife SE, as R)")
    auc_times: Optional[list[float]] = _f(
        None, r="own IPCW code (Uno 2007; timeROC cumulative/dynamic)",
        doc="time-dependent AUC of the linear predictor at these times (needs concordance: true)")
    residuals: list[Literal[COX_RESIDUALS]] = _f(
        [], r="residuals(fit, type=)", doc="residual types written as tables (one per type, "
                                          "keyed by patient; Schoenfeld types by event time)")
    basehaz: Optional[Literal["centered", "zero"]] = _f(
        None, r="basehaz(fit, centered=)", doc="cumulative baseline hazard table and figure: at "
                                               "the covariate means (R's default) or at 0")
    predict: Optional[dict[str, dict[str, Scalar]]] = _f(
        None, r="survfit(fit, newdata=)", doc="{label: {covariate: value}}: predicted survival "
                                             "of each profile with CIs (table, figure, medians); "
                                             "a level must be a value of its column and a "
                                             "numeric covariate's value a number (plan error)")
    predict_times: Optional[list[float]] = _f(
        None, r="summary(survfit(fit, newdata=), times=)",
        doc="predicted survival of each profile at these times (needs predict)")
    predict_conf_type: Literal["log", "log-log", "plain"] = _f(
        "log", r="survfit(fit, newdata=, conf.type=)", doc="CI transform of the predicted curves")

    @model_validator(mode="after")
    def _check(self):
        if self.cluster is not None and self.robust is False:
            raise ValueError("'cluster' implies the robust variance (R coxph); drop robust: false")
        if self.firth:
            for k in ("robust", "cluster", "univariable", "zph", "concordance", "residuals",
                      "basehaz", "predict"):
                if getattr(self, k):
                    raise ValueError(f"'{k}' is not available with firth: true")
            if self.ties == "exact":
                raise ValueError("ties: exact is not available with firth: true")
        if self.ties == "exact":
            if self.robust or self.cluster is not None:
                raise ValueError("ties: exact has no robust / cluster variance (R has no score "
                                 "residuals for the exact method); use ties: efron")
            bad = [r for r in self.residuals if r not in ("martingale", "deviance")]
            if bad:
                raise ValueError(f"residuals {bad} are not available with ties: exact (as R); "
                                 "martingale and deviance are")
        if not self.zph and (self.zph_transform != "km" or self.zph_plot):
            raise ValueError("'zph_transform' and 'zph_plot' need zph: true")
        if self.auc_times is not None:
            if not self.concordance:
                raise ValueError("'auc_times' needs concordance: true")
            if not self.auc_times or any(not t > 0 for t in self.auc_times):
                raise ValueError("'auc_times' must be a non-empty list of times > 0")
        if self.predict is None and (self.predict_times is not None
                                     or self.predict_conf_type != "log"):
            raise ValueError("'predict_times' and 'predict_conf_type' need 'predict' "
                             "(profiles {label: {covariate: value}})")
        if self.predict is not None:
            if not self.predict:
                raise ValueError("'predict' needs at least one profile")
            allowed = set(self.covariates) | ({self.strata} if self.strata else set())
            for label, prof in self.predict.items():
                missing = sorted(set(self.covariates) - set(prof))
                extra = sorted(set(prof) - allowed)
                if missing:
                    raise ValueError(f"predict profile '{label}' lacks covariate(s) {missing}")
                if extra:
                    raise ValueError(f"predict profile '{label}' names {extra}, which are not "
                                     "covariates (or the strata column) of the model")
        return self


class FineGray(_Table, _Figure, _Regression, _Endpoint, _Adjust, AnalysisBase):
    cause: int = _f(1, ge=1, r="crr(failcode=)")
    cov2: Optional[dict[str, str]] = _f(
        None, column=True, r="crr(cov2=, tf=)",
        doc="{column: time function}: the column's coefficient varies with time as beta * tf(t); "
            "tf by name: identity, log, step(t0) (1 from t0 on)")
    cengroup: Optional[str] = _f(None, column=True, r="crr(cengroup=)",
                                 doc="censoring groups: censoring distribution estimated within each")
    max_iter: int = _f(10, ge=1, r="crr(maxiter=)",
                       doc="most Newton iterations of the crr fit (an integer >= 1; crr's "
                           "default 10); a fit that stops unconverged reports its terms as "
                           "not estimable, except those beside diverging terms that no longer "
                           "move (not used by the propensity block's weighted model)")

    @field_validator("max_iter", mode="before")
    @classmethod
    def _check_max_iter(cls, v):
        from .._checks import check_int
        from ..errors import InputError
        try:
            return check_int("max_iter", v, minimum=1)
        except InputError:        # the plan error adds the key and "(got ...)"
            raise ValueError("must be a whole number >= 1, e.g. 25") from None

    @model_validator(mode="after")
    def _check_cov2(self):
        if self.cov2 is not None:
            from ..errors import InputError
            from ..stats.finegray import time_function
            if not self.cov2:
                raise ValueError("'cov2' is empty; give {column: time function}")
            for nm in self.cov2.values():
                try:
                    time_function(nm)
                except InputError as exc:
                    raise ValueError(str(exc)) from None
        if self.propensity is not None and (self.cov2 is not None or self.cengroup is not None):
            raise ValueError("'propensity' is not combined with 'cov2'/'cengroup' (the weighted "
                             "Fine-Gray fit has neither)")
        return self


class CauseSpecificCox(_Table, _Figure, _Regression, _Endpoint, AnalysisBase):
    cause: int = _f(ge=1, r="Surv(time, status == cause)")
    ties: Literal["efron", "breslow"] = _f("efron", r="coxph(ties=)")


class CIF(_Table, _Figure, _Curve, _OptGroup, _Endpoint, _Adjust, AnalysisBase):
    cause: int = _f(1, ge=1, r="cuminc / timepoints cause")
    variance: Literal["gray", "greenwood", "aalen", "ij"] = _f(
        "gray", r="cuminc (gray); etm covariance (greenwood); survfit std.err (ij)",
        doc="variance of the estimate and its CI: gray (cmprsk), greenwood (delta method, etm), "
            "aalen (Poisson increments), ij (infinitesimal jackknife, survfit)")
    extend: bool = _f(False, r="summary.survfit(extend=)",
                      doc="estimates at times after a group's last follow-up: last value carried "
                          "forward (false: not estimable, with the reason, unless the curve is "
                          "complete: nobody left at risk because everyone had an event, whose "
                          "value there is known and shown either way)")
    strata: Optional[str] = _f(None, column=True, r="cuminc(strata=)", doc="stratified Gray test")
    conf_type: Literal["log-log", "log", "plain"] = _f("log-log", r="cmprsk CI transform (log-log)")
    conf_level: float = _f(0.95, gt=0, lt=1)
    test: Literal["gray", "none"] = _f("gray", r="cuminc Gray test", doc="none: no test")
    rho: float = _f(0.0, r="cuminc(rho=)", doc="Gray test weight")
    pairwise: bool = _f(False, doc="pairwise Gray tests")
    adjust: Literal[ADJUST_METHODS] = _f("holm", r="p.adjust(method=)")
    landmarks: Optional[list[float]] = _f(None, r="cuminc on the landmark set",
                                          doc="landmark times of the immortal-time comparison "
                                          "(landmark CIF; needs group; used when the guard "
                                          "fires)")

    @model_validator(mode="after")
    def _check(self):
        _order_needs_group(self)
        _require_pairwise(self)
        _require_figure(self)
        if self.group is None:
            for k in ("strata", "pairwise", "rho", "test"):
                if k in self.model_fields_set:
                    raise ValueError(f"'{k}' needs 'group'")
        if self.test == "none":
            for k in ("strata", "rho", "pairwise"):
                if k in self.model_fields_set:
                    raise ValueError(f"'{k}' has no effect with test: none")
        if self.extend and self.times is None:
            raise ValueError("'extend' only affects the estimates at 'times'; give times")
        if self.group is None and self.landmarks is not None:
            raise ValueError("'landmarks' needs 'group' (the treatment groups whose immortal "
                             "time they address)")
        return self


class Gray(_Table, _Group, _Endpoint, AnalysisBase):
    cause: int = _f(1, ge=1, r="cuminc cause")
    rho: float = _f(0.0, r="cuminc(rho=)")
    strata: Optional[str] = _f(None, column=True, r="cuminc(strata=)")
    landmarks: Optional[list[float]] = _f(None, r="cuminc on the landmark set",
                                          doc="landmark times of the immortal-time comparison")


class _Exposure(_M):
    exposure: str = _f(column=True, doc="exposure start (date column, or time column in the "
                                        "endpoint's unit); missing = never exposed, except "
                                        "a patient its treatment column says treated (left "
                                        "out: exposure start unknown)",
                       r="tmerge(tdc())")


class Landmark(_Table, _Endpoint, AnalysisBase):
    exposure: Optional[str] = _f(None, column=True, r="tmerge(tdc())",
                                 doc="exposure start (exposed by the landmark vs not)")
    group: Optional[str] = _f(None, column=True, doc="instead of exposure: a group known at the landmark")
    order: Optional[list[Scalar]] = _f(None, doc="group levels in order (group only)")
    landmarks: list[float] = _f(min_length=1, doc="landmark times (endpoint unit)")
    times: Optional[list[float]] = _f(None, doc="times since the endpoint's time zero of KM "
                                                "estimates per landmark (estimated at time − "
                                                "landmark; times at or before a landmark are "
                                                "not estimated there)")
    covariates: list[str] = _f([], column=True, doc="adjustment covariates of the landmark Cox")
    categorical: Optional[dict[str, Scalar]] = _f(None, column=True, r="relevel(ref=)")
    ties: Literal["efron", "breslow"] = _f("efron", r="coxph(ties=)")
    conf_type: Literal["log", "plain", "log-log"] = _f("log", r="survfit(conf.type=)")
    conf_level: float = _f(0.95, gt=0, lt=1)
    labels: Optional[list[str]] = _f(None, min_length=2, max_length=2,
                                     doc="[label not exposed by the landmark, label exposed by "
                                         "the landmark] (exposure only; default 'not yet "
                                         "<exposure>', '<exposure> by the landmark')")

    @model_validator(mode="after")
    def _check(self):
        if (self.exposure is None) == (self.group is None):
            raise ValueError("give exactly one of 'exposure' and 'group'")
        if self.order is not None and self.group is None:
            raise ValueError("'order' needs 'group'")
        if self.labels is not None:
            if self.exposure is None:
                raise ValueError("'labels' needs 'exposure' (with 'group' the levels are the "
                                 "labels; see the plan's labels:)")
            if self.labels[0] == self.labels[1]:
                raise ValueError("'labels' must be two different labels")
        return self


class TDCox(_CategoricalInCovariates, _Table, _Figure, _Exposure, _Endpoint, AnalysisBase):
    covariates: list[str] = _f([], column=True, r="formula right-hand side")
    categorical: Optional[dict[str, Scalar]] = _f(None, column=True, r="relevel(ref=)")
    ties: Literal["efron", "breslow"] = _f("efron", r="coxph(ties=)")
    robust: Optional[bool] = _f(
        None, r="coxph(id=): robust only when some id has more than one event",
        doc="robust (sandwich) SE clustered on the patient (R cluster = id); none follows R's "
            "coxph(id=) default: robust only if some patient has more than one event, so the "
            "model-based SE here (one event per patient at most), as td_coxph(robust=False); "
            "the choices line says which")
    conf_level: float = _f(0.95, gt=0, lt=1)


class TDFineGray(_CategoricalInCovariates, _Table, _Exposure, _Endpoint, AnalysisBase):
    covariates: list[str] = _f([], column=True, r="formula right-hand side")
    categorical: Optional[dict[str, Scalar]] = _f(None, column=True, r="relevel(ref=)")
    cause: int = _f(1, ge=1, r="finegray(etype=)")
    ties: Literal["efron", "breslow"] = _f("efron", r="coxph(ties=)")
    cluster: bool = _f(False, r="coxph(cluster = id)",
                       doc="robust variance clustered on the patient (false: rows as units, "
                           "R's default for the weighted fit)")
    conf_level: float = _f(0.95, gt=0, lt=1, r="summary(conf.int=)")


class MantelByar(_Exposure, _Endpoint, AnalysisBase):
    ties: Literal["efron", "breslow"] = _f("efron", r="coxph(ties=) score test")


class SimonMakuch(_Table, _Figure, _Curve, _Exposure, _Endpoint, AnalysisBase):
    conf_type: Literal["log", "plain", "log-log"] = _f("log", r="survfit(conf.type=)")
    conf_level: float = _f(0.95, gt=0, lt=1)
    labels: Optional[list[str]] = _f(None, min_length=2, max_length=2,
                                     doc="[label before exposure, label after exposure]")

    @model_validator(mode="after")
    def _check(self):
        _require_figure(self)
        return self


class ImmortalTime(_Table, _Exposure, _Endpoint, AnalysisBase):
    group: str = _f(column=True, doc="the group compared naively")
    order: Optional[list[Scalar]] = _f(None, doc="levels treated as treatment groups, in order "
                                                 "(group form; default all but the reference)")
    reference: Optional[Scalar] = _f(None, doc="group form: the level patients count in before "
                                               "treatment starts (absent: binary exposed/not)")
    landmarks: list[float] = _f([], doc="landmark times of the landmark comparison")

    @model_validator(mode="after")
    def _check(self):
        if self.order is not None and self.reference is None:
            raise ValueError("'order' applies to the group form; give 'reference'")
        return self


class Response(_Table, _Group, AnalysisBase):
    outcome: str = _f(doc="expression true for a responder, e.g. \"response == 'mCR2'\"")
    outcome_label: Optional[str] = _f(None, doc="name of the outcome in tables")
    conf_level: float = _f(0.95, gt=0, lt=1, r="binom.test / fisher.test(conf.level=)")


class Table1(_Table, _Group, _Adjust, AnalysisBase):
    variables: list[str] = _f(column=True, min_length=1, doc="rows of the table")
    parametric: bool = _f(False, doc="t-test/ANOVA and mean (SD) instead of rank tests and median")
    smd: bool = _f(False, doc="standardized mean differences")
    overall: bool = _f(True, doc="an overall column")
    kinds: Optional[dict[str, Literal["categorical", "continuous"]]] = _f(
        None, column=True,
        doc="{column: categorical | continuous}: how a variable is summarised and tested, "
            "overriding the automatic choice (text, yes/no and 0/1 columns categorical, other "
            "numbers continuous)")

    @model_validator(mode="after")
    def _kinds_in_variables(self):
        extra = sorted(set(self.kinds or {}) - set(self.variables))
        if extra:
            raise ValueError(f"kinds names column(s) {extra} that are not among the variables")
        return self


class Counts(_Table, AnalysisBase):
    columns: list[str] = _f(column=True, min_length=1, doc="columns cross-tabulated")


class Flow(_Figure, AnalysisBase):
    pass


class Swimmer(_Figure, AnalysisBase):
    color_by: Optional[str] = _f("postremission_modality", column=True, doc="lane colour")
    sort_by: Optional[str] = _f(None, column=True, doc="lane order")
    unit: Literal["days", "weeks", "months", "years"] = _f("months", doc="time axis unit")
    missing_label: str = _f("not recorded", doc="legend entry of a missing color_by value")


class _States(_Table, _Figure, AnalysisBase):
    """Keys shared by the multi-state kinds (:mod:`aplcohort.multistate.plan`)."""

    cr3_entry: Literal["date", "salvage_start"] = _f(
        "date", doc="CR3 entry: the `cr3_date` column, or (a stated assumption) the salvage start")
    unit: Literal["days", "months", "years"] = _f("months", doc="time unit")
    cutoff: Optional[str] = _f(None, doc="data cut-off date YYYY-MM-DD (default: the cohort's)")
    on_error: Literal["raise", "exclude"] = _f(
        "raise", doc="patients whose dates break the model: stop with the report, or leave them "
                     "out with the reason (recorded)", r="survcheck()")
    group: Optional[str] = _f(None, column=True, doc="grouping column fixed at time zero",
                              r="formula right-hand side")
    order: Optional[list[Scalar]] = _f(None, doc="group levels in order", r="factor(levels=)")
    times: Optional[list[float]] = _f(None, doc="times at which probabilities are reported",
                                      r="summary(times=)")
    tau: Optional[float] = _f(None, gt=0, doc="horizon of the restricted mean time in state",
                              r="print(rmean=)")
    conf_type: Literal["log", "log-log", "plain"] = _f("log", r="conf.type")
    conf_level: float = _f(0.95, gt=0, lt=1, r="conf.int")

    @model_validator(mode="after")
    def _rules(self):
        _order_needs_group(self)
        return self


class Multistate(_States):
    model: Union[Literal["relapsed_leukemia"], dict] = _f(
        "relapsed_leukemia", doc="the bundled relapsed-leukaemia model, or a declared model "
                                 "(docs/multistate.md)", r="Surv(tstart, tstop, state)")
    time_zero: Optional[str] = _f(None, doc="state whose entry is time zero (default: the "
                                            "model's first state)", r="istate")
    covariates: Optional[list[str]] = _f(None, column=True, doc="transition-specific Cox "
                                         "covariates (none: no Cox model)",
                                         r="coxph(Surv(tstart, tstop, state) ~ x, id = id)")
    shared: Optional[dict[str, list[list[str]]]] = _f(
        None, doc="{covariate: [[from, to], ...]}: one common effect on these transitions",
        r="coxph formula list with common effects")
    categorical: Optional[dict[str, Scalar]] = _f(None, column=True,
                                                  doc="{column: reference level}", r="relevel(ref=)")


class CLFS(_States):
    time_zero: str = _f("CR2", doc="state whose entry is time zero (DFS needs a remission state)",
                        r="istate")
    dfs_os: Literal["aalen-johansen", "kaplan-meier"] = _f(
        "aalen-johansen", doc="DFS and OS from the same Aalen–Johansen fit (so DFS <= CLFS <= OS), "
                              "or Kaplan–Meier")


class Presentation(_M):
    """Plan-level presentation keys (not an analysis kind): labels, level order and the
    journal style of every table (docs/tables.md). Applied by
    :func:`aplcohort.tables.style.plan_presentation`."""

    labels: Optional[dict[str, Union[str, dict[str, Any]]]] = _f(
        None, typ="{column: text or mapping}", doc="printed names of columns: {column: label} or {column: {label, unit, "
                  "levels: {value: label}}}; default from the data dictionary")
    levels: Optional[dict[str, list[Scalar]]] = _f(
        None, typ="{column: list}", doc="order of the levels of a column in tables and legends; the group order "
                  "(first = reference) of analyses without `order:`", r="factor(levels=)")
    style: Optional[Union[str, dict[str, Any]]] = _f(
        None, typ="word or mapping", doc="journal style of numbers: aplcohort (default), ama (jama), lancet, blood; or "
                  "{journal: NAME, p_threshold, p_digits, ...}")
    reference_rows: Optional[Literal["1 (reference)", "\u2014", "none"]] = _f(
        None, doc="reference-level rows of regression tables: '1 (reference)', '\u2014' or none")

    @model_validator(mode="after")
    def _presentation_rules(self):
        from ..tables.labels import check_overrides
        from ..tables.style import get_style
        get_style(self.style)  # unknown journal or option: InputError (a ValueError here)
        probs = check_overrides(self.labels, self.levels, None)
        if probs:
            raise ValueError("; ".join(probs))
        return self


#: Plan-level keys of :class:`Presentation`.
PRESENTATION_KEYS = tuple(Presentation.model_fields)


# --- plan-level keys (issue 15): documented in the generated block of docs/plans.md; ------
# tests/test_plan_registry.py checks that these models list exactly the keys that
# aplcohort.plan.spec accepts (TOP_KEYS, DATA_KEYS, OUTPUT_KEYS, ENDPOINT_KEYS, FILTER_KEYS).
class PlanData(_M):
    """Keys of ``data:``."""

    source: str = _f(doc="cohort file (CSV, XLSX, Parquet, .sav/.dta/.sas7bdat/.xpt, relative to the "
                         "plan file) or database URL (duckdb:///f.duckdb, its file also "
                         "relative to the plan file; postgresql:///db); "
                         "`--data` overrides")
    mapping: Optional[str] = _f(None, doc="mapping file: institution columns/codes -> data "
                                          "dictionary; `--mapping` overrides")
    sheet: Optional[Union[str, int]] = _f(
        None, typ="text or integer", doc="Excel sheet name; a number is read as a name (a sheet "
        "named 2019), not a position (default: the only visible sheet; a workbook with several "
        "visible sheets needs a name); `--sheet` overrides")
    header_row: Optional[int] = _f(
        None, typ="integer >= 1", doc="row of the CSV or sheet that holds the column names, "
        "for title rows above the header (default: the first row that is not empty); "
        "`--header-row` overrides; recorded in the provenance")
    query: Optional[str] = _f(None, doc="database source: one read-only SELECT")
    table: Optional[str] = _f(None, doc="database source: a table read whole (instead of `query`)")
    encoding: Optional[str] = _f(None, doc="CSV encoding (default: detected and stated in the "
                                           "provenance)")
    types: Optional[dict[str, Union[str, dict[str, Any]]]] = _f(
        None, typ="{column: type}", doc="type of columns outside the data dictionary: number, integer, date or text")


class PlanOutput(_M):
    """Keys of ``output:``."""

    formats: list[Literal["png", "svg", "pdf", "tiff"]] = _f(
        ["png", "pdf"], typ="list of words", doc="figure formats (PNG is always written: the report embeds it)")
    dpi: Literal[300, 600] = _f(300, typ="integer", doc="raster resolution of figures")
    tables: list[Literal["csv", "html", "tex", "docx"]] = _f(
        ["csv", "docx", "tex"], typ="list of words", doc="table formats")


class PlanEndpoint(_M):
    """Keys of one endpoint under ``endpoints: {id: ...}``."""

    endpoint: Optional[str] = _f(None, doc="date-based endpoint: OS, EFS, RFS (LFS), CIR, NRM, "
                                           "ANC_recovery, PLT_recovery (docs/endpoints.md)")
    time_zero: Optional[str] = _f(None, doc="relapse1, reinduction, response, mcr2, "
                                            "postremission or a date column (with `endpoint`)")
    unit: Literal["days", "months", "years"] = _f("days", doc="time unit (months = 30.4375 days, "
                                                              "years = 365.25 days)")
    time: Optional[str] = _f(None, column=True, doc="given directly: column of follow-up times")
    event: Optional[str] = _f(None, column=True, doc="given directly: 0/1 event column (with `time`)")
    code: Optional[str] = _f(None, column=True, doc="given directly: 0 censored, 1, 2, ... cause "
                                                    "column (with `time`)")
    label: Optional[str] = _f(None, doc="axis label and table heading of the endpoint")
    where: Optional[str] = _f(None, doc="expression of the patients the endpoint is defined "
                                        "for (applied after the analysis's `where`; the others "
                                        "are in the attrition log)")
    remission: Optional[list[str]] = _f(None, doc="response categories that count as remission "
                                                  "for every patient (default: by disease, "
                                                  "docs/endpoints.md)")


class PlanFilter(_M):
    """Keys of one entry of ``filters:`` (applied in order, each exclusion logged)."""

    id: str = _f(doc="name of the filter in the attrition log")
    keep: str = _f(doc="expression of the patients kept")
    reason: str = _f(doc="why the others are excluded (attrition log)")


class PlanLevel(Presentation):
    """Top-level keys of a plan (the presentation keys are inherited)."""

    plan: Optional[str] = _f(None, doc="name of the plan; `min2022` adds the published-vs-"
                                       "reproduced table")
    title: Optional[str] = _f(None, doc="title of the report (default: the plan name)")
    description: Optional[str] = _f(None, doc="free text for the reader; printed under the title of report.html")
    data: PlanData = _f(typ="mapping", doc="where the cohort comes from (keys below)")
    filters: Optional[list[PlanFilter]] = _f(None, typ="list of mappings", doc="exclusions applied in order (keys below)")
    endpoints: Optional[dict[str, PlanEndpoint]] = _f(None, typ="{id: mapping}", doc="{id: definition} (keys below)")
    analyses: list[dict[str, Any]] = _f(typ="list of mappings", doc="the analyses, each {id, kind, ...} (kinds below)")
    output: Optional[PlanOutput] = _f(None, typ="mapping", doc="output formats (keys below)")
    seed: Optional[int] = _f(None, doc="recorded in the provenance")
    allow_identifiers: bool = _f(False, doc="let identifying columns (names, MRN, birth date) "
                                            "reach an output (docs/security.md)")


#: The plan-level models documented in docs/plans.md, with their headings.
PLAN_LEVEL = (("", PlanLevel), ("`data:`", PlanData), ("`output:`", PlanOutput),
              ("`endpoints: {id: ...}`", PlanEndpoint), ("`filters: [...]`", PlanFilter))


@dataclass(frozen=True)
class Kind:
    """One analysis kind: its settings model, handler name, estimator and result shape."""

    name: str
    model: type[AnalysisBase]
    handler: str
    estimator: str
    shape: str
    summary: str
    competing: bool = False       # needs a competing-risk endpoint
    survival: bool = False        # needs a 0/1 endpoint

    @property
    def keys(self) -> list[str]:
        return list(self.model.model_fields)

    @property
    def required(self) -> set[str]:
        return {k for k, f in self.model.model_fields.items() if f.is_required()} - {"id", "kind"}

    @property
    def column_keys(self) -> list[str]:
        return [k for k, f in self.model.model_fields.items()
                if (f.json_schema_extra or {}).get("column")]


_K = [
    Kind("counts", Counts, "h_counts", "pandas value_counts", "table", "cross-tabulation"),
    Kind("table1", Table1, "h_table1", "aplcohort.tables.table1", "table",
         "baseline table with automatically chosen tests"),
    Kind("response", Response, "h_response", "aplcohort.stats.grouptests", "test",
         "rates with exact CIs, Fisher p, conditional-MLE odds ratio"),
    Kind("km", KM, "h_km", "aplcohort.stats.km.kaplan_meier", "curves",
         "Kaplan–Meier with medians, estimates at times, test, figure with risk table",
         survival=True),
    Kind("logrank", Logrank, "h_logrank", "aplcohort.stats.logrank", "test", "log-rank family",
         survival=True),
    Kind("rmst", RMST, "h_rmst", "aplcohort.stats.rmst.rmst2", "table",
         "restricted mean survival time: difference, ratio and RMTL ratio of two groups "
         "(survRM2 rmst2)", survival=True),
    Kind("cox", Cox, "h_cox", "aplcohort.stats.cox.coxph", "terms",
         "Cox model, forest plot, optional univariable table and PH test", survival=True),
    Kind("cif", CIF, "h_cif", "aplcohort.stats.competing.cumulative_incidence", "curves",
         "cumulative incidence with Gray's test", competing=True),
    Kind("gray", Gray, "h_gray", "aplcohort.stats.competing.gray_test", "test", "Gray's test alone",
         competing=True),
    Kind("finegray", FineGray, "h_finegray", "aplcohort.stats.finegray.fine_gray", "terms",
         "Fine–Gray regression", competing=True),
    Kind("cause_specific_cox", CauseSpecificCox, "h_cause_specific_cox",
         "aplcohort.stats.competing.cause_specific_cox", "terms", "Cox for one cause", competing=True),
    Kind("landmark", Landmark, "h_landmark", "aplcohort.stats.landmark.landmark", "curves",
         "KM, log-rank and Cox on the set event-free at each landmark", survival=True),
    Kind("td_cox", TDCox, "h_td_cox", "aplcohort.stats.timedep.td_coxph", "terms",
         "Cox with the exposure as a time-dependent covariate", survival=True),
    Kind("td_finegray", TDFineGray, "h_td_finegray", "aplcohort.stats.finegray_td.td_fine_gray",
         "terms", "Fine–Gray with the exposure as a time-dependent covariate (finegray weights)",
         competing=True),
    Kind("mantel_byar", MantelByar, "h_mantel_byar", "aplcohort.stats.timedep.mantel_byar", "test",
         "score test of the time-dependent exposure", survival=True),
    Kind("simon_makuch", SimonMakuch, "h_simon_makuch", "aplcohort.stats.timedep.simon_makuch",
         "curves", "KM by current exposure", survival=True),
    Kind("immortal_time", ImmortalTime, "h_immortal_time",
         "aplcohort.stats.timedep.compare_naive_vs_timedependent", "table",
         "naive vs time-dependent vs landmark side by side", survival=True),
    Kind("flow", Flow, "h_flow", "aplcohort.plan.min2022.study_flow", "figure",
         "patient-flow diagram (Min 2022 study flow)"),
    Kind("multistate", Multistate, "h_multistate", "aplcohort.multistate", "curves",
         "state occupancy (Aalen–Johansen, IJ SE), time in state, transition-specific Cox"),
    Kind("clfs", CLFS, "h_clfs", "aplcohort.multistate.clfs", "curves",
         "current leukemia-free survival beside DFS and OS; salvage facts as probabilities"),
    Kind("swimmer", Swimmer, "h_swimmer", "aplcohort.plots.swimmer.plot_swimmer", "figure",
         "one lane per patient from first relapse"),
]
KINDS: dict[str, Kind] = {k.name: k for k in _K}


_OPS = {"Gt": ">", "Ge": ">=", "Lt": "<", "Le": "<="}


def _type_name(ann) -> str:
    s = str(ann)
    for a, b in (("typing.", ""), ("Optional[", ""), ("<class '", ""), ("'>", "")):
        s = s.replace(a, b)
    if s.startswith("Literal["):
        return "word"
    s = s.replace("Union[str, int, float, bool]", "value").replace("]]", "]")
    return {"str": "text", "float": "number", "int": "integer", "bool": "true/false"}.get(s.rstrip("]"), s)


def describe(kind: str) -> list[dict]:
    """One row per key of ``kind``: key, type, default, allowed values, R argument, meaning."""
    from typing import get_args, get_origin
    rows = []
    model = kind if isinstance(kind, type) else KINDS[kind].model   # or a plan-level model
    for key, f in model.model_fields.items():
        ann = f.annotation
        args = get_args(ann)
        lit = None
        for a in (ann, *args):
            if get_origin(a) is Literal:
                lit = get_args(a)
        extra = f.json_schema_extra or {}
        if f.is_required():
            default = "required"
        else:
            default = "none" if f.default is None else repr(f.default).replace("'", "")
        allowed = ", ".join(map(str, lit)) if lit else ""
        bounds = [f"{_OPS[type(m).__name__]} {dataclasses.astuple(m)[0]}" for m in f.metadata
                  if type(m).__name__ in ("Gt", "Ge", "Lt", "Le")]
        if bounds:
            allowed = "; ".join(bounds)
        typ = extra["type"] if extra.get("type") else "column" if extra.get("column") and "list" not in str(ann) and "dict" not in str(ann) \
            else ("columns" if extra.get("column") else _type_name(ann))
        rows.append({"key": key, "type": typ, "default": default, "allowed": allowed,
                     "r": extra.get("r", ""), "meaning": f.description or ""})
    return rows


def markdown() -> str:
    """The key tables of ``docs/plans.md`` (generated; a test keeps the doc in step)."""
    out = []
    for title, model in PLAN_LEVEL:
        out.append(f"### Plan level{': ' + title if title else ''}\n\n{model.__doc__.strip()}\n")
        out.append("| key | type | default | allowed | R | meaning |")
        out.append("|---|---|---|---|---|---|")
        for r in describe(model):
            cells = [f"`{r['key']}`", r["type"], r["default"], r["allowed"],
                     f"`{r['r']}`" if r["r"] else "", r["meaning"]]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    for name, k in KINDS.items():
        out.append(f"### `{name}`\n\n{k.summary}. Estimator: `{k.estimator}`; result shape: "
                   f"{k.shape}.\n")
        out.append("| key | type | default | allowed | R | meaning |")
        out.append("|---|---|---|---|---|---|")
        for r in describe(name):
            if r["key"] in ("id", "kind"):
                continue
            cells = [f"`{r['key']}`", r["type"], r["default"], r["allowed"],
                     f"`{r['r']}`" if r["r"] else "", r["meaning"]]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)
