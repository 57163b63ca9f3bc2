# Reference values for the concordance of a Cox model fitted with a cluster (review 11,
# F1; R 4.2, survival 3.5-3).  Run from the repository root:
#   Rscript tests/reference/concordance_cluster.R
# Writes tests/reference/concordance_cluster.json (full precision).
#
# R concordance(fit) takes the fit's cluster and sums each row's influence (dfbeta) within
# cluster before squaring (a grouped infinitesimal jackknife).  Data:
# tests/reference/data/review11_ab.csv = groups A and B of the audit's hostile
# data (34 patients, integer times with ties, 3 rows at time 0, pairs of patients as
# clusters `cl`, strata `st`, case weights `w`, entry times `entry`).
suppressPackageStartupMessages(library(survival))
library(jsonlite)
ab <- read.csv("tests/reference/data/review11_ab.csv")
ab$grp <- factor(ab$grp)
pos <- ab[ab$time > 0, ]

cinfo <- function(fit) {
  cc <- concordance(fit)
  cnt <- cc$count
  if (is.matrix(cnt)) cnt <- colSums(cnt)
  list(concordance = unname(cc$concordance), std_err = sqrt(unname(cc$var)),
       count = unname(cnt))
}
# per stratum: the stratum's rows alone, its clusters (concordance(y ~ lp, cluster =))
per_stratum <- function(fit, d, weighted = FALSE) {
  d$lp <- predict(fit, type = "lp")
  lapply(split(d, d$st), function(s) {
    cc <- if (weighted) concordance(Surv(time, event) ~ lp, data = s, cluster = cl,
                                    weights = w, reverse = TRUE)
          else concordance(Surv(time, event) ~ lp, data = s, cluster = cl, reverse = TRUE)
    list(concordance = unname(cc$concordance), std_err = sqrt(unname(cc$var)))
  })
}
out <- list()
f <- coxph(Surv(time, event) ~ age + sex + grp, data = ab, cluster = cl)
out$cluster <- cinfo(f)
f0 <- coxph(Surv(time, event) ~ age + sex + grp, data = ab)
out$no_cluster <- cinfo(f0)
fb <- coxph(Surv(time, event) ~ age + sex + grp, data = ab, cluster = cl, ties = "breslow")
out$cluster_breslow <- cinfo(fb)
fs <- coxph(Surv(time, event) ~ age + sex + grp + strata(st), data = ab, cluster = cl)
out$cluster_strata <- cinfo(fs)
out$cluster_strata$per_stratum <- per_stratum(fs, ab)
fw <- coxph(Surv(time, event) ~ age + sex + grp, data = ab, cluster = cl, weights = w)
out$cluster_weights <- cinfo(fw)
fe <- coxph(Surv(entry, time, event) ~ age + sex + grp, data = pos, cluster = cl)
out$cluster_entry <- cinfo(fe)
# robust = TRUE without a cluster: R's concordance is not grouped (one row = one cluster)
fr <- coxph(Surv(time, event) ~ age + sex + grp, data = ab, robust = TRUE)
out$robust_no_cluster <- cinfo(fr)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/concordance_cluster.json")
cat("wrote tests/reference/concordance_cluster.json\n")
