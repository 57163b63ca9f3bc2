# Reference values for non-estimable Cox / Fine-Gray terms, R's default robust variance
# with non-integer case weights, and survdiff's zero statistic (R 4.2.2, survival 3.5-3,
# cmprsk 2.2-11).  Run from the repository root:  Rscript tests/reference/nonestimable.R
# Writes tests/reference/nonestimable.json (full precision; NA -> null).
suppressPackageStartupMessages({library(survival); library(cmprsk)})
library(jsonlite)
datadir <- "tests/reference/data"
out <- list()

catch <- function(expr) {   # value + the warnings R gave
  msgs <- character(0)
  val <- withCallingHandlers(expr, warning = function(w) {
    msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning")})
  list(value = val, warnings = msgs)
}
info <- function(fit, warnings = character(0)) {
  rob <- !is.null(fit$naive.var)
  nv <- if (rob) fit$naive.var else fit$var
  s <- summary(fit)
  list(terms = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(ifelse(is.na(coef(fit)), NA, sqrt(diag(nv)))),
       robust_se = if (rob) unname(ifelse(is.na(coef(fit)), NA, sqrt(diag(fit$var)))) else NULL,
       loglik = unname(fit$loglik), n = fit$n, nevent = fit$nevent,
       df = sum(!is.na(coef(fit))),
       logtest = unname(s$logtest), sctest = unname(s$sctest),
       wald = unname(fit$wald.test),
       lower = unname(s$conf.int[, 3]), upper = unname(s$conf.int[, 4]),
       p = unname(s$coefficients[, ncol(s$coefficients)]),
       iter = fit$iter, warnings = warnings)
}

L <- read.csv(file.path(datadir, "cox_lung.csv"))
L$sex <- factor(L$sex, levels = c("M", "F"))
L$ph_ecog <- factor(L$ph_ecog, levels = c(0, 1, 2, 3))
L$a2 <- 2 * L$age + 3          # aliased with age
L$k <- 1                       # constant
L$male <- as.numeric(L$sex == "M")   # constant within strata(sex)

## aliased and constant columns: R gives coef NA
f <- coxph(Surv(time, event) ~ age + sex + a2 + k + ph_ecog, data = L)
out$aliased <- info(f)
## a column constant within every stratum
f <- coxph(Surv(time, event) ~ age + male + strata(sex), data = L)
out$strata_constant <- info(f)

## non-integer case weights: R's default is the robust variance (no robust= argument)
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, weights = w)
out$weights_default <- info(f)
H <- read.csv(file.path(datadir, "cox_heart.csv"))
H$w <- 1 + (seq_len(nrow(H)) %% 4) / 4
write.csv(H, file.path(datadir, "nonest_heart_w.csv"), row.names = FALSE)
f <- coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = H, weights = w)
out$heart_weights_default <- info(f)

## monotone likelihood: group g = 1 has no events (tests/test_cox.py _separated_data())
S <- read.csv(file.path(datadir, "cox_separated.csv"))
r <- catch(coxph(Surv(t, e) ~ g + x, data = S))
out$monotone <- info(r$value, r$warnings)
## monotone + an aliased column in the same model
S$x2 <- -S$x
r <- catch(coxph(Surv(t, e) ~ g + x + x2, data = S))
out$monotone_aliased <- info(r$value, r$warnings)

## Fine-Gray: crr stops on an aliased design ("system is exactly singular"); the reference
## for our NA layout is crr without the aliased column (mgus2 competing data)
M <- read.csv(file.path(datadir, "mgus2_competing.csv"))
M$age2 <- 2 * M$age
r <- try(crr(M$etime, M$event, cbind(age = M$age, age2 = M$age2,
                                     male = as.numeric(M$sex == "M"))), silent = TRUE)
f <- crr(M$etime, M$event, cbind(age = M$age, male = as.numeric(M$sex == "M")))
out$crr_aliased <- list(r_error = as.character(r), coef = unname(f$coef),
                        se = unname(sqrt(diag(f$var))), loglik = f$loglik,
                        loglik_null = f$loglik.null)
## Fine-Gray monotone likelihood: g = 1 has no events of cause 1 (nonest_fg_monotone.csv:
## cox_separated.csv with a cause code; cause 2 / censored in g = 1). crr returns a large
## coefficient with a small sandwich SE and no warning.
G <- read.csv(file.path(datadir, "nonest_fg_monotone.csv"))
f <- crr(G$t, G$c, cbind(g = G$g, x = G$x))
out$crr_monotone <- list(coef = unname(f$coef), se = unname(sqrt(diag(f$var))),
                         converged = f$converged, events_g1 = sum(G$c[G$g == 1] == 1))

## survdiff: fewer than two groups with expected events > 0 -> chisq 0 (not NA)
d <- data.frame(t = c(1, 2, 3, 4, 5, 6), e = c(1, 1, 1, 0, 0, 0),
                g = c("a", "a", "a", "b", "b", "b"))
d$t[d$g == "b"] <- c(0.5, 0.6, 0.7)   # group b leaves before any event
out$survdiff_zero <- list(t = d$t, e = d$e, g = d$g, chisq = survdiff(Surv(t, e) ~ g, d)$chisq)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/nonestimable.json")
cat("wrote tests/reference/nonestimable.json\n")
