# Reference values for a Fine-Gray fit with a time-varying term (cov2, tf = step(5)) where
# one covariate diverges (review 11, F4; R 4.2, cmprsk 2.2-11).  Run from the repository
# root:
#   Rscript tests/reference/finegray_cov2_diverging.R
# Writes tests/reference/finegray_cov2_diverging.json (full precision).
#
# Data: tests/reference/data/review11_ab.csv (34 patients, groups A and B of the audit's
# hostile data; code 0 censored, 1, 2 competing causes, events at time 0, ties).
# `sex` has no cause-1 event with sex = 1 before t = 5, so the coefficients of sex and
# sex*step(5) diverge together (-inf before 5, their sum finite after): crr moves them by
# about 1 per iteration (maxiter 10: not converged; maxiter 25: "converged" by its
# gradient rule at -14.7 / +14.4), while age and grpB do not move.
suppressPackageStartupMessages(library(cmprsk))
library(jsonlite)
ab <- read.csv("tests/reference/data/review11_ab.csv")
X <- cbind(age = ab$age, sex = ab$sex, grpB = as.numeric(ab$grp == "B"))
tf5 <- function(t) as.numeric(t >= 5)
info <- function(maxiter) {
  f <- crr(ab$time, ab$code, X, cov2 = cbind(sex = ab$sex), tf = tf5, maxiter = maxiter)
  list(terms = names(f$coef), coef = unname(f$coef), se = unname(sqrt(diag(f$var))),
       converged = f$converged)
}
out <- list(events_cause1_sex1_before5 = sum(ab$code == 1 & ab$sex == 1 & ab$time < 5),
            events_cause1_sex0_before5 = sum(ab$code == 1 & ab$sex == 0 & ab$time < 5),
            maxiter10 = info(10), maxiter25 = info(25))
# without the time-varying term: a finite, converged fit (all terms estimable)
f0 <- crr(ab$time, ab$code, X)
out$no_cov2 <- list(terms = names(f0$coef), coef = unname(f0$coef),
                    se = unname(sqrt(diag(f0$var))), converged = f0$converged)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/finegray_cov2_diverging.json")
cat("wrote tests/reference/finegray_cov2_diverging.json\n")
