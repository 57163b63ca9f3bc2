# Reference values for tests/test_review11c.py (audit 11, part C: table1 parametric,
# median follow-up limits, landmark labels).
# Run from the repository root:  Rscript tests/reference/review11c.R
# Reads tests/reference/data/review11c_nasty.csv (the audit's 40-patient "nasty" data with
# missing values: groups A 17, B 17, C 5, D 1 censored patient) and
# tests/reference/data/review11c_td.csv (36 patients with a treatment time);
# writes tests/reference/review11c.json (full precision).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- read.csv("tests/reference/data/review11c_nasty.csv")
out <- list()

## ---- table1, parametric: mean (SD) per column and Welch t / one-way ANOVA p ----------
summ <- function(x) list(n = sum(!is.na(x)), mean = mean(x, na.rm = TRUE),
                         sd = sd(x, na.rm = TRUE))
ab <- d[d$grp %in% c("A", "B"), ]
abc <- d[d$grp %in% c("A", "B", "C"), ]
t1 <- list()
for (v in c("age", "male")) {
  cols <- lapply(c("A", "B"), function(g) summ(ab[[v]][ab$grp == g]))
  names(cols) <- c("A", "B")
  cols$Overall <- summ(ab[[v]])
  t1[[v]] <- list(columns = cols,
                  welch_p = t.test(ab[[v]][ab$grp == "A"], ab[[v]][ab$grp == "B"])$p.value)
  # three groups: one-way ANOVA with equal variances (summary(aov))
  a <- summary(aov(abc[[v]] ~ factor(abc$grp)))[[1]]
  t1[[v]]$anova_p_abc <- a[["Pr(>F)"]][1]
  cols3 <- lapply(c("A", "B", "C"), function(g) summ(abc[[v]][abc$grp == g]))
  names(cols3) <- c("A", "B", "C")
  t1[[v]]$columns_abc <- cols3
}
out$table1_parametric <- t1

## ---- median follow-up (reverse KM): quantile(survfit(Surv(time, 1 - event) ~ grp)) -----
f <- survfit(Surv(time, 1 - event) ~ grp, data = d)
q <- quantile(f, 0.5)
grp <- sub("grp=", "", names(f$strata))
s <- summary(f)
out$median_followup <- list(
  group = grp, median = unname(q$quantile[, 1]), lower = unname(q$lower[, 1]),
  upper = unname(q$upper[, 1]),
  # the reverse curve of each group: where its confidence band is NA (estimate 0, SE NaN)
  curve = list(group = sub("grp=", "", as.character(s$strata)), time = s$time,
               surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper))

## ---- landmark at 3: HR of "treated by the landmark" (+ age), time since the landmark ---
td <- read.csv("tests/reference/data/review11c_td.csv")
L <- 3
lm <- td[td$time > L, ]
lm$exposed <- as.numeric(!is.na(lm$tx) & lm$tx <= L)
fl <- coxph(Surv(time - L, event) ~ exposed + age, data = lm)
out$landmark <- list(landmark = L, n = nrow(lm), events = sum(lm$event),
                     hr = unname(exp(coef(fl))[1]), p = unname(coef(summary(fl))[1, 5]))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/reference/review11c.json")
