## Reference values for tests/test_review13a.py (audit 13, F4 and F6).
## Run from the repository root after tests/reference/review13a_export.py:
##   Rscript tests/reference/review13a.R
## Writes tests/reference/review13a.json: numbers as "%.17g" strings (jsonlite prints 15
## significant digits, which would turn 0.99999999999999989 into 1), null for NA.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
num <- function(x) ifelse(is.na(x), NA_character_, sprintf("%.17g", x))

## F4: platelet recovery from reinduction (days), ATO-based vs IC, death competing.
## Every ATO-based patient recovered (the curve is complete at day 28, its last time):
## cmprsk sums the increments to 0.99999999999999989, not 1, and gives NA after day 28.
plt <- read.csv("tests/reference/data/review13a_plt.csv")
times <- c(14, 21, 28, 35, 42)
ci <- cuminc(plt$time, plt$event, plt$group, cencode = 0)
tp <- timepoints(ci, times)
rows <- grep(" 1$", rownames(tp$est))
cmp <- lapply(rows, function(i) list(name = rownames(tp$est)[i], est = num(unname(tp$est[i, ])),
                                     var = num(unname(tp$var[i, ]))))
## survfit (Aalen-Johansen, infinitesimal-jackknife SE) on the same data, log-log CI,
## extend = TRUE (the last value after the last time)
st <- factor(plt$event, levels = 0:2, labels = c("censored", "recovery", "death"))
fit <- survfit(Surv(time, st) ~ group, data = plt, conf.type = "log-log")
s <- summary(fit, times = times, extend = TRUE)
sf <- list(group = sub("group=", "", as.character(s$strata)), time = s$time,
           pstate = num(unname(s$pstate[, 2])), std_err = num(unname(s$std.err[, 2])),
           lower = num(unname(s$lower[, 2])), upper = num(unname(s$upper[, 2])))

## F6: RFS from post-remission start (years) by modality: Fleming-Harrington weights
## S(t-)^p (1 - S(t-))^q, pooled KM S; FH(1,0) is survdiff rho = 1; FH(1,1) written out.
rfs <- read.csv("tests/reference/data/review13a_rfs.csv")
sd1 <- survdiff(Surv(time, event) ~ group, data = rfs, rho = 1)
wlr <- function(time, status, group, wfun) {
  g <- factor(group, levels = sort(unique(group))); k <- nlevels(g); gi <- as.integer(g)
  O <- E <- numeric(k); V <- matrix(0, k, k); S <- 1
  for (t in sort(unique(time[status == 1]))) {
    nk <- tabulate(gi[time >= t], k); n <- sum(nk)
    dk <- tabulate(gi[time == t & status == 1], k); d <- sum(dk)
    w <- wfun(S)
    O <- O + w * dk; E <- E + w * d * nk / n
    if (n > 1) V <- V + w^2 * d * (n - d) / (n - 1) * (diag(nk / n, k) - outer(nk / n, nk / n))
    S <- S * (1 - d / n)
  }
  z <- (O - E)[-1]; vv <- V[-1, -1, drop = FALSE]
  chisq <- sum(solve(vv, z) * z)
  list(chisq = chisq, df = k - 1, p = pchisq(chisq, k - 1, lower.tail = FALSE))
}
tst <- function(chisq, df) list(chisq = num(chisq), df = df,
                                p = num(pchisq(chisq, df, lower.tail = FALSE)))
fh10 <- wlr(rfs$time, rfs$event, rfs$group, function(S) S)
stopifnot(abs(fh10$chisq - sd1$chisq) < 1e-10)   # the explicit form is survdiff's
fh11 <- wlr(rfs$time, rfs$event, rfs$group, function(S) S * (1 - S))
fh00 <- survdiff(Surv(time, event) ~ group, data = rfs)

out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")),
            cmprsk = as.character(packageVersion("cmprsk")),
            plt = list(times = times, cmprsk = cmp, survfit_loglog = sf),
            rfs = list(fh00 = tst(fh00$chisq, length(fh00$n) - 1),
                       fh10 = tst(sd1$chisq, length(sd1$n) - 1),
                       fh11 = tst(fh11$chisq, fh11$df)))
writeLines(toJSON(out, auto_unbox = TRUE, na = "null"),
           "tests/reference/review13a.json")
cat("wrote tests/reference/review13a.json\n")
