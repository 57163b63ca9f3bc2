# Reference values for aplcohort.stats.cox / zph (R 4.2.2, survival 3.5-3).
# Run from the repository root:  Rscript tests/reference/cox.R
# Writes tests/reference/cox.json and the input data as tests/reference/data/cox_*.csv
suppressPackageStartupMessages(library(survival))
library(jsonlite)

datadir <- "tests/reference/data"
out <- list()

fitinfo <- function(fit) {
  s <- summary(fit)
  rob <- !is.null(fit$naive.var)
  se <- if (rob) sqrt(diag(fit$naive.var)) else sqrt(diag(fit$var))
  r <- list(
    terms = names(coef(fit)),
    coef = unname(coef(fit)),
    se = unname(se),
    robust_se = if (rob) unname(sqrt(diag(fit$var))) else NULL,
    loglik = unname(fit$loglik),
    n = fit$n, nevent = fit$nevent,
    # summary.coxph rounds the Wald and robust score statistics: use the fit's own values
    logtest = unname(s$logtest),
    waldtest = c(unname(fit$wald.test), length(coef(fit)),
                 pchisq(unname(fit$wald.test), length(coef(fit)), lower.tail = FALSE)),
    sctest = c(unname(fit$score), length(coef(fit)),
               pchisq(unname(fit$score), length(coef(fit)), lower.tail = FALSE)),
    rscore = if (rob) c(unname(fit$rscore), length(coef(fit)),
                        pchisq(unname(fit$rscore), length(coef(fit)), lower.tail = FALSE)) else NULL,
    hr_lower = unname(s$conf.int[, 3]), hr_upper = unname(s$conf.int[, 4]),
    p = unname(s$coefficients[, ncol(s$coefficients)]),
    iter = fit$iter
  )
  r
}
zphinfo <- function(fit) {
  res <- list()
  for (tr in c("km", "rank", "identity")) {
    z <- cox.zph(fit, transform = tr)
    res[[tr]] <- list(term = rownames(z$table), chisq = unname(z$table[, 1]),
                      df = unname(z$table[, 2]), p = unname(z$table[, 3]))
  }
  res
}

## ---- lung: complete cases of the columns used; event = status - 1; sex M/F ----
lung2 <- lung[complete.cases(lung[, c("time", "status", "age", "sex", "ph.ecog", "inst")]), ]
lung2 <- data.frame(inst = lung2$inst, time = lung2$time, event = lung2$status - 1,
                    age = lung2$age, sex = ifelse(lung2$sex == 1, "M", "F"),
                    ph_ecog = lung2$ph.ecog)
lung2$w <- 1 + (seq_len(nrow(lung2)) %% 3) / 2   # deterministic non-integer case weights
write.csv(lung2, file.path(datadir, "cox_lung.csv"), row.names = FALSE)
L <- lung2
L$sex <- factor(L$sex, levels = c("M", "F"))
L$ph_ecog <- factor(L$ph_ecog, levels = c(0, 1, 2, 3))

f <- coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, ties = "efron")
out$lung_efron <- fitinfo(f); out$lung_efron$zph <- zphinfo(f)
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, ties = "breslow")
out$lung_breslow <- fitinfo(f); out$lung_breslow$zph <- zphinfo(f)
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, robust = TRUE)
out$lung_robust <- fitinfo(f)
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog + cluster(inst), data = L)
out$lung_cluster <- fitinfo(f)
f <- coxph(Surv(time, event) ~ age + sex + strata(inst), data = L)
out$lung_strata <- fitinfo(f); out$lung_strata$zph <- zphinfo(f)
f <- coxph(Surv(time, event) ~ age + sex + strata(inst), data = L, ties = "breslow")
out$lung_strata_breslow <- fitinfo(f)
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, weights = w)
out$lung_weights <- fitinfo(f)   # non-integer weights: R turns robust on
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, weights = w, robust = FALSE)
out$lung_weights_naive <- fitinfo(f); out$lung_weights_naive$zph <- zphinfo(f)
L1 <- L; L1$ph_ecog <- relevel(L1$ph_ecog, ref = "1")
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L1)
out$lung_ref1 <- fitinfo(f)
# univariable then multivariable (age, sex, ph_ecog)
uni <- list()
for (v in c("age", "sex", "ph_ecog")) {
  uni[[v]] <- fitinfo(coxph(as.formula(paste("Surv(time, event) ~", v)), data = L))
}
out$lung_uni <- uni

## ---- veteran: celltype with reference "large" ----
V <- veteran
write.csv(V, file.path(datadir, "cox_veteran.csv"), row.names = FALSE)
V$celltype <- relevel(V$celltype, ref = "large")
f <- coxph(Surv(time, status) ~ trt + karno + age + celltype, data = V)
out$veteran <- fitinfo(f); out$veteran$zph <- zphinfo(f)

## ---- ovarian ----
write.csv(ovarian, file.path(datadir, "cox_ovarian.csv"), row.names = FALSE)
f <- coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = ovarian)
out$ovarian <- fitinfo(f); out$ovarian$zph <- zphinfo(f)
f <- coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = ovarian, ties = "breslow")
out$ovarian_breslow <- fitinfo(f)

## ---- aml (leukemia), tied times ----
write.csv(aml, file.path(datadir, "cox_aml.csv"), row.names = FALSE)
A <- aml; A$x <- factor(A$x, levels = c("Maintained", "Nonmaintained"))
f <- coxph(Surv(time, status) ~ x, data = A)
out$aml_efron <- fitinfo(f)
f <- coxph(Surv(time, status) ~ x, data = A, ties = "breslow")
out$aml_breslow <- fitinfo(f)

## ---- heart (Stanford transplant), counting process (start, stop] ----
H <- heart; H$transplant <- as.numeric(as.character(H$transplant))
write.csv(H, file.path(datadir, "cox_heart.csv"), row.names = FALSE)
f <- coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = H)
out$heart <- fitinfo(f); out$heart$zph <- zphinfo(f)
f <- coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = H, ties = "breslow")
out$heart_breslow <- fitinfo(f)
f <- coxph(Surv(start, stop, event) ~ age + transplant + surgery + cluster(id), data = H)
out$heart_cluster <- fitinfo(f)

## ---- monotone likelihood: group g has no events (data generated in tests/test_cox.py,
## _separated_data(), saved as cox_separated.csv) ----
S <- read.csv(file.path(datadir, "cox_separated.csv"))
sep_warning <- NULL
f <- withCallingHandlers(coxph(Surv(t, e) ~ g + x, data = S),
                         warning = function(w) {
                           sep_warning <<- conditionMessage(w)
                           invokeRestart("muffleWarning")
                         })
out$separated <- fitinfo(f); out$separated$warning <- sep_warning

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/cox.json")
cat("wrote tests/reference/cox.json\n")
