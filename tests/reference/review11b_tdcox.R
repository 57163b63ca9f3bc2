# Reference values for tests/test_review11b.py (audit 11, finding 2): R's coxph(id =)
# default variance, which the plan's td_cox follows when `robust` is not set.
# Run from the repository root:  Rscript tests/reference/review11b_tdcox.R
#
# survival 3.x: coxph(..., id = id) switches to the robust variance by default only when
# some id has more than one event (anyDuplicated(id[status == 1])), with cluster =, with
# non-integer weights, or for a multi-state model -- NOT merely because an id has several
# rows.  Two data sets:
#   1. tests/data/public/jasa.csv (written by plans_public.R), split at the transplant with
#      tmerge: one event per patient at most -> the model-based variance (naive.var NULL);
#      the robust fit (cluster = id) is stored beside it for contrast.
#   2. a small recurrent-event data set (one patient with two events) -> robust by default.
# Written to tests/reference/review11b_tdcox.json at 17 significant digits.
# R 4.2.2, survival 3.5-3.
suppressPackageStartupMessages({library(survival); library(jsonlite)})

j <- read.csv("tests/data/public/jasa.csv", na.strings = c("", "NA"), stringsAsFactors = FALSE)
j$id <- seq_len(nrow(j))
cc <- j[complete.cases(j[, c("futime", "fustat", "age", "surgery")]), ]
tm <- tmerge(cc[, c("id", "age", "surgery")], cc, id = id,
             death = event(futime, fustat), transplant = tdc(wait.time))

fit_ref <- function(fit, call) {
  s <- summary(fit)
  cf <- s$coefficients
  robust <- !is.null(fit$naive.var)
  list(call = call, robust = robust, n = fit$n, nevent = fit$nevent,
       terms = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(sqrt(diag(if (robust) fit$naive.var else fit$var))),
       used_se = unname(sqrt(diag(fit$var))),
       hr_lower = unname(s$conf.int[, "lower .95"]),
       hr_upper = unname(s$conf.int[, "upper .95"]),
       p = unname(cf[, ncol(cf)]))
}

out <- list()
out$jasa_default <- fit_ref(
  coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, id = id),
  "coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, id = id)")
out$jasa_robust <- fit_ref(
  coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, cluster = id),
  "coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, cluster = id)")
out$jasa_default$max_events_per_id <- max(table(tm$id[tm$death == 1]))
stopifnot(!out$jasa_default$robust, out$jasa_robust$robust)

# 2. recurrent events: patient 1 has two events
rec <- data.frame(id = c(1, 1, 2, 3, 3, 4, 5, 6, 7, 8),
                  tstart = c(0, 4, 0, 0, 3, 0, 0, 0, 0, 0),
                  tstop = c(4, 9, 7, 3, 10, 6, 8, 5, 11, 2),
                  status = c(1, 1, 0, 0, 1, 1, 0, 1, 0, 1),
                  x = c(1, 1, 0, 1, 1, 0, 1, 0, 0, 1))
fr <- coxph(Surv(tstart, tstop, status) ~ x, data = rec, id = id)
out$recurrent <- list(call = "coxph(Surv(tstart, tstop, status) ~ x, data = rec, id = id)",
                      id = rec$id, status = rec$status,
                      robust_by_default = !is.null(fr$naive.var))
# the same data with patient 1's first event censored: one event per id -> model variance
rec1 <- rec; rec1$status[1] <- 0
fr1 <- coxph(Surv(tstart, tstop, status) ~ x, data = rec1, id = id)
out$one_event_each <- list(call = "the same with patient 1's first event censored",
                           id = rec1$id, status = rec1$status,
                           robust_by_default = !is.null(fr1$naive.var))
stopifnot(out$recurrent$robust_by_default, !out$one_event_each$robust_by_default)

writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/review11b_tdcox.json")
