# Reference values for aplcohort.stats.grouptests (tests/test_grouptests.py).
# Run from the repository root:  Rscript tests/reference/grouptests.R
# Writes tests/reference/grouptests.json (full precision) and the input data
# tests/reference/data/grouptests_lung.csv (R survival::lung, public).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
out <- list()

## ---- Fisher's exact test, 2x2 -------------------------------------------
tabs2 <- list(
  small      = matrix(c(3, 1, 1, 3), 2, byrow = TRUE),
  moderate   = matrix(c(10, 2, 3, 15), 2, byrow = TRUE),
  zero_cell  = matrix(c(0, 5, 6, 2), 2, byrow = TRUE),
  zero_hi    = matrix(c(7, 0, 0, 4), 2, byrow = TRUE),
  larger     = matrix(c(45, 30, 20, 55), 2, byrow = TRUE),
  convictions = matrix(c(2, 10, 15, 3), 2),  # R ?fisher.test example (like-sex twins)
  response   = matrix(c(18, 2, 9, 6), 2, byrow = TRUE),
  unbalanced = matrix(c(1, 24, 6, 19), 2, byrow = TRUE),
  zero_row   = matrix(c(0, 0, 3, 4), 2, byrow = TRUE),
  zero_col   = matrix(c(0, 3, 0, 4), 2, byrow = TRUE)
)
f2 <- list()
for (nm in names(tabs2)) {
  x <- tabs2[[nm]]
  for (alt in c("two.sided", "less", "greater")) {
    for (cl in c(0.95, 0.90)) {
      f <- fisher.test(x, alternative = alt, conf.level = cl)
      f2[[length(f2) + 1]] <- list(name = nm, table = x, alternative = alt, conf_level = cl,
        p = f$p.value, estimate = unname(f$estimate),
        lower = f$conf.int[1], upper = f$conf.int[2])
    }
  }
}
out$fisher_2x2 <- f2

## ---- Fisher's exact test, r x c ------------------------------------------
tabsrc <- list(
  t2x3        = matrix(c(2, 0, 1, 0, 3, 1), 2, byrow = TRUE),
  t2x3b       = matrix(c(5, 3, 8, 2, 9, 4), 2, byrow = TRUE),
  t3x3_sparse = matrix(c(3, 0, 1, 0, 2, 0, 1, 1, 4), 3, byrow = TRUE),
  t3x3_zero_row = matrix(c(3, 1, 2, 0, 0, 0, 1, 4, 5), 3, byrow = TRUE),
  t3x4        = matrix(c(4, 2, 0, 1, 1, 5, 3, 0, 0, 1, 6, 2), 3, byrow = TRUE),
  t2x5        = matrix(c(12, 8, 15, 5, 3, 7, 14, 9, 11, 2), 2, byrow = TRUE),
  t4x2        = matrix(c(1, 5, 4, 2, 0, 3, 6, 1), 4, byrow = TRUE),
  t2x4_n300   = matrix(c(120, 100, 60, 4, 10, 4, 1, 1), 2, byrow = TRUE),
  t3x3_n200   = matrix(c(40, 30, 3, 35, 45, 2, 20, 22, 3), 3, byrow = TRUE),
  t2x6_n285   = matrix(c(50, 40, 30, 20, 10, 2, 45, 35, 25, 15, 12, 1), 2, byrow = TRUE),
  t3x7_sparse = matrix(c(10, 8, 6, 4, 3, 2, 1, 9, 7, 6, 5, 2, 1, 2, 3, 4, 5, 2, 1, 0, 1), 3, byrow = TRUE),
  # Job satisfaction, R ?fisher.test example
  job         = matrix(c(1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11), 4, 4)
)
frc <- list()
for (nm in names(tabsrc)) {
  x <- tabsrc[[nm]]
  frc[[nm]] <- list(table = x, p = fisher.test(x)$p.value)
}
out$fisher_rxc <- frc

## ---- chi-square ----------------------------------------------------------
chi <- list()
for (nm in c("moderate", "larger", "response", "unbalanced")) {
  for (corr in c(TRUE, FALSE)) {
    x <- tabs2[[nm]]
    r <- suppressWarnings(chisq.test(x, correct = corr))
    chi[[length(chi) + 1]] <- list(name = nm, table = x, correct = corr,
      statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value,
      expected = r$expected, method = r$method)
  }
}
for (nm in c("t2x3b", "t3x4", "t2x5", "job")) {
  x <- tabsrc[[nm]]
  r <- suppressWarnings(chisq.test(x))
  chi[[length(chi) + 1]] <- list(name = nm, table = x, correct = TRUE,
    statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value,
    expected = r$expected, method = r$method)
}
out$chisq <- chi

## ---- input vectors -------------------------------------------------------
set.seed(20261121)
vec <- list(
  a_noties = round(rnorm(12, 10, 3), 3),
  b_noties = round(rnorm(9, 12, 3), 3) + 0.0005,
  a_ties   = c(1, 2, 2, 3, 3, 3, 5, 7, 8, 8),
  b_ties   = c(2, 3, 4, 4, 6, 8, 9, 9, 10, 12, 12),
  a_big    = round(rexp(55, 1/20), 4),
  b_big    = round(rexp(60, 1/28), 4) + 0.00005
)
out$vectors <- vec
wil <- list()
add_w <- function(name, x, y, ...) {
  args <- list(...)
  r <- suppressWarnings(wilcox.test(x, y, ...))
  wil[[length(wil) + 1]] <<- c(list(name = name, statistic = unname(r$statistic), p = r$p.value,
    method = r$method), args)
}
for (alt in c("two.sided", "less", "greater")) {
  add_w("noties", vec$a_noties, vec$b_noties, alternative = alt)
  add_w("noties", vec$a_noties, vec$b_noties, alternative = alt, exact = FALSE)
  add_w("noties", vec$a_noties, vec$b_noties, alternative = alt, exact = FALSE, correct = FALSE)
  add_w("ties", vec$a_ties, vec$b_ties, alternative = alt)
  add_w("big", vec$a_big, vec$b_big, alternative = alt)
}
add_w("small_exact", c(1.1, 2.2, 3.1, 4.5), c(2.5, 5.2, 6.3, 7.1, 8.8), alternative = "two.sided")
add_w("extreme", 1:5, 6:15, alternative = "two.sided")
out$wilcox <- wil

## ---- lung (public, R survival) ---------------------------------------------
lg <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog", "wt.loss", "meal.cal")]
write.csv(lg, "tests/reference/data/grouptests_lung.csv", row.names = FALSE, na = "")
cc <- function(v, g) { ok <- !is.na(v) & !is.na(g); list(v = v[ok], g = g[ok]) }
L <- list()
d <- cc(lg$age, lg$sex)
L$wilcox_age_sex <- { r <- wilcox.test(v ~ g, data = data.frame(v = d$v, g = d$g)); list(statistic = unname(r$statistic), p = r$p.value) }
L$welch_age_sex <- { r <- t.test(v ~ g, data = data.frame(v = d$v, g = d$g)); list(statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value, estimate = unname(r$estimate[1] - r$estimate[2]), lower = r$conf.int[1], upper = r$conf.int[2]) }
L$student_age_sex <- { r <- t.test(v ~ g, data = data.frame(v = d$v, g = d$g), var.equal = TRUE); list(statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value, lower = r$conf.int[1], upper = r$conf.int[2]) }
d <- cc(lg$wt.loss, lg$ph.ecog)
L$kruskal_wtloss_ecog <- { r <- kruskal.test(d$v, factor(d$g)); list(statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value, n_missing = sum(is.na(lg$wt.loss) | is.na(lg$ph.ecog))) }
d2 <- cc(lg$wt.loss, lg$ph.ecog); keep <- d2$g < 3
L$anova_wtloss_ecog <- { r <- oneway.test(v ~ g, data = data.frame(v = d2$v[keep], g = factor(d2$g[keep])), var.equal = TRUE); list(statistic = unname(r$statistic), df = unname(r$parameter[1]), df2 = unname(r$parameter[2]), p = r$p.value) }
L$aov_wtloss_ecog <- { a <- summary(aov(v ~ g, data = data.frame(v = d2$v[keep], g = factor(d2$g[keep]))))[[1]]; list(F = a[["F value"]][1], p = a[["Pr(>F)"]][1]) }
L$welch_anova_wtloss_ecog <- { r <- oneway.test(v ~ g, data = data.frame(v = d2$v[keep], g = factor(d2$g[keep]))); list(statistic = unname(r$statistic), df = unname(r$parameter[1]), df2 = unname(r$parameter[2]), p = r$p.value) }
d <- cc(lg$meal.cal, lg$ph.ecog)
L$kruskal_mealcal_ecog <- { r <- kruskal.test(d$v, factor(d$g)); list(statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value) }
L$fisher_sex_ecog <- { x <- table(lg$ph.ecog, lg$sex); list(table = unclass(x), p = fisher.test(x)$p.value) }
L$chisq_status_sex <- { x <- table(lg$status, lg$sex); r <- chisq.test(x); list(statistic = unname(r$statistic), p = r$p.value) }
out$lung <- L

## ---- t-tests and ANOVA on the vectors --------------------------------------
tt <- list()
for (ve in c(FALSE, TRUE)) for (alt in c("two.sided", "less", "greater")) {
  r <- t.test(vec$a_ties, vec$b_ties, var.equal = ve, alternative = alt, conf.level = 0.9)
  tt[[length(tt) + 1]] <- list(var_equal = ve, alternative = alt, conf_level = 0.9,
    statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value,
    lower = r$conf.int[1], upper = r$conf.int[2])
}
out$t_test <- tt
y3 <- c(vec$a_ties, vec$b_ties, vec$a_noties)
g3 <- rep(c("a", "b", "c"), c(length(vec$a_ties), length(vec$b_ties), length(vec$a_noties)))
out$three_groups <- list(
  kruskal = { r <- kruskal.test(y3, factor(g3)); list(statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value) },
  anova = { r <- oneway.test(y3 ~ g3, var.equal = TRUE); list(statistic = unname(r$statistic), df = unname(r$parameter[1]), df2 = unname(r$parameter[2]), p = r$p.value) },
  welch = { r <- oneway.test(y3 ~ g3); list(statistic = unname(r$statistic), df = unname(r$parameter[1]), df2 = unname(r$parameter[2]), p = r$p.value) }
)

## ---- binomial --------------------------------------------------------------
bt <- list()
for (xn in list(c(0, 10), c(10, 10), c(7, 10), c(1, 25), c(13, 40), c(45, 52), c(3, 7))) {
  for (cl in c(0.95, 0.9, 0.99)) for (p0 in c(0.5, 0.3)) for (alt in c("two.sided", "less", "greater")) {
    r <- binom.test(xn[1], xn[2], p = p0, alternative = alt, conf.level = cl)
    bt[[length(bt) + 1]] <- list(x = xn[1], n = xn[2], p0 = p0, alternative = alt, conf_level = cl,
      p = r$p.value, lower = r$conf.int[1], upper = r$conf.int[2])
  }
}
out$binom <- bt

## ---- p.adjust ------------------------------------------------------------------
pv <- c(0.01, 0.04, 0.04, NA, 0.2, 0.003, 0.5, 0.03, 0.9, 0.0004)
out$p_adjust <- list(p = pv, holm = p.adjust(pv, "holm"), hochberg = p.adjust(pv, "hochberg"),
  bonferroni = p.adjust(pv, "bonferroni"), BH = p.adjust(pv, "BH"), fdr = p.adjust(pv, "fdr"),
  none = p.adjust(pv, "none"), BY = p.adjust(pv, "BY"), holm_n20 = p.adjust(pv, "holm", n = 20), BH_n20 = p.adjust(pv, "BH", n = 20))

out$R_version <- R.version.string
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = FALSE),
           "tests/reference/grouptests.json")
