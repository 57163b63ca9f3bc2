# Reference values for Fine-Gray terms whose level has no events of the cause (review 7,
# F1; R 4.2.2, cmprsk 2.2-11, survival 3.5-3).  Run from the repository root:
#   Rscript tests/reference/finegray_noevents.R
# Writes tests/reference/finegray_noevents.json (full precision; NA -> null).
#
# Data: tests/reference/data/finegray_noevents_min2022.csv = the NRM-from-CR2 analysis set
# of the bundled synthetic replica (`aplcohort synth min2022 --seed 2022`, 37 patients with
# post-remission treatment; time in months, event 1 = NRM, 2 = relapse, 0 = censored).
# Cause 1 has ONE event (allo HSCT); ATO-based (the reference) and auto HSCT have none.
suppressPackageStartupMessages({library(survival); library(cmprsk)})
library(jsonlite)
d <- read.csv("tests/reference/data/finegray_noevents_min2022.csv")
d$modality <- factor(d$modality, levels = c("ATO-based", "allo HSCT", "auto HSCT"))
out <- list(events = as.list(tapply(d$event == 1, d$modality, sum)))

crr_info <- function(X, maxiter = 10) {
  r <- try(crr(d$time, d$event, X, failcode = 1, maxiter = maxiter), silent = TRUE)
  if (inherits(r, "try-error")) return(list(r_error = as.character(r)))
  list(terms = colnames(X), coef = unname(r$coef), se = unname(sqrt(diag(r$var))),
       converged = r$converged, loglik = r$loglik, loglik_null = r$loglik.null)
}
X2 <- model.matrix(~ modality + age, d)[, -1, drop = FALSE]
X1 <- model.matrix(~ modality, d)[, -1, drop = FALSE]
XA <- model.matrix(~ age, d)[, -1, drop = FALSE]
# modality + age: crr stops ("system is computationally singular")
out$crr_modality_age <- crr_info(X2)
# modality only: not converged in 10 iterations; allo HSCT grows with maxiter (15.2 -> 18.2),
# auto HSCT stays at ~0 with SE 0.37 (0 events against 0 events)
out$crr_modality <- crr_info(X1)
out$crr_modality_maxiter25 <- crr_info(X1, 25)
# age only: a finite, converged fit (the estimable case)
out$crr_age <- crr_info(XA)
# the cause-specific Cox on the same data: R flags both modality terms as infinite
w <- character(0)
cs <- withCallingHandlers(coxph(Surv(time, event == 1) ~ modality, d),
                          warning = function(x) {w <<- c(w, conditionMessage(x));
                                                 invokeRestart("muffleWarning")})
out$coxph_modality <- list(coef = unname(coef(cs)), warnings = w)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/finegray_noevents.json")
cat("wrote tests/reference/finegray_noevents.json\n")
