# Plan-level reference values on public data sets saved as a user would save them.
# Run from the repository root:  Rscript tests/reference/plans_public.R
#
# 1. Writes tests/data/public/{bmt,jasa,mgus2}.csv from KMsurv::bmt, survival::jasa and
#    survival::mgus2 with missing cells in numeric columns, alternately as an EMPTY cell
#    and as the text "NA" (what write.csv and Excel users produce).
# 2. Reads those SAME CSV files back (read.csv, na.strings = c("", "NA")) and computes
#    what the plans tests/data/public/*.yaml ask for: survdiff, survfit, coxph (incl.
#    robust SE, complete-case n), cuminc + Gray, crr, cause-specific coxph, and the
#    tmerge-based time-dependent coxph.
# 3. Writes tests/reference/plans_public.json at full precision (17 significant digits); every
#    value has the R call that produced it in the "call" field beside it.
#
# Row ids: the plans have no patient id column, so aplcohort names rows as the
# spreadsheet does ("row 2" = first data row); the excluded ids below use that naming.
# R 4.2.2, survival 3.5-3, cmprsk 2.2-11, KMsurv 0.1-5.
suppressPackageStartupMessages({
  library(survival); library(cmprsk); library(KMsurv); library(jsonlite)
})
dat_dir <- "tests/data/public"
dir.create(dat_dir, showWarnings = FALSE, recursive = TRUE)

## ---- 1. write the CSVs -----------------------------------------------------------
## Missing cells: in each column, the 1st, 3rd, ... missing cell is written empty and the
## 2nd, 4th, ... as the text NA.  Numbers are written with 15 significant digits (R's
## as.character), which is what both R and Python then read.
write_user_csv <- function(df, path) {
  out <- df
  for (nm in names(out)) {
    x <- out[[nm]]
    s <- if (inherits(x, "Date")) format(x, "%Y-%m-%d") else as.character(x)
    miss <- which(is.na(x))
    s[miss] <- ifelse(seq_along(miss) %% 2 == 1, "", "NA")
    out[[nm]] <- s
  }
  write.csv(out, path, row.names = FALSE, quote = FALSE)
}

## KMsurv::bmt (Klein & Moeschberger sec. 1.3): 137 BMT patients.  A user adds the
## competing-risk code of the disease-free survival time t2: 1 = relapse (d2), 2 = death
## in remission (d1 without d2), 0 = alive in remission.  Patient age z1 is blanked for
## 6 patients (a covariate with missing values -> complete-case analyses).
data(bmt)
b <- bmt
b$status <- ifelse(b$d2 == 1, 1L, ifelse(b$d1 == 1, 2L, 0L))
b$z1[c(5, 17, 33, 60, 101, 130)] <- NA
write_user_csv(b, file.path(dat_dir, "bmt.csv"))

## survival::jasa (Stanford heart transplant): 103 patients.  A user computes the
## follow-up from acceptance (futime) and keeps the waiting time to transplant
## (wait.time, missing = never transplanted: the time-dependent exposure).  The one
## patient with 0 days of follow-up gets 0.5 day, as in the survival "timedep"
## vignette (a (0, 0] interval does not exist).  Age is blanked for 4 patients.
jj <- jasa
jj$futime <- pmax(0.5, jj$futime)
jj$age[c(8, 21, 50, 77)] <- NA
write_user_csv(jj, file.path(dat_dir, "jasa.csv"))

## survival::mgus2: 1384 patients; hgb, creat, mspike have missing values of their
## own.  A user adds the competing-risk variables of the survival "compete" vignette:
## etime = time to progression or death, event = 1 progression (PCM), 2 death, 0 censored.
m <- mgus2
m$sex <- as.character(m$sex)
m$etime <- ifelse(m$pstat == 0, m$futime, m$ptime)
m$event <- ifelse(m$pstat == 0, 2L * m$death, 1L)
attr(m$age, "label") <- NULL; attr(m$mspike, "label") <- NULL
write_user_csv(m, file.path(dat_dir, "mgus2.csv"))

## ---- 2. read them back as a user would --------------------------------------------
rd <- function(name) {
  d <- read.csv(file.path(dat_dir, paste0(name, ".csv")), na.strings = c("", "NA"),
                stringsAsFactors = FALSE)
  d$.row <- paste("row", seq_len(nrow(d)) + 1L)  # spreadsheet row naming
  d
}
b <- rd("bmt"); j <- rd("jasa"); m <- rd("mgus2")
stopifnot(sum(is.na(b$z1)) == 6, sum(is.na(j$age)) == 4, sum(is.na(m$mspike)) == 11,
          is.numeric(b$z1), is.numeric(j$wait.time), is.numeric(m$creat))

## ---- helpers ---------------------------------------------------------------------
complete <- function(d, cols) {
  ok <- complete.cases(d[, cols, drop = FALSE])
  list(data = d[ok, ], excluded = d$.row[!ok])
}
cox_ref <- function(fit, call, excluded) {
  s <- summary(fit)
  cf <- s$coefficients
  robust <- !is.null(fit$naive.var)
  out <- list(call = call, n = fit$n, nevent = fit$nevent, excluded_ids = excluded,
       terms = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(sqrt(diag(if (robust) fit$naive.var else fit$var))),
       robust_se = if (robust) unname(sqrt(diag(fit$var))) else NULL,
       hr_lower = unname(s$conf.int[, "lower .95"]), hr_upper = unname(s$conf.int[, "upper .95"]),
       p = unname(cf[, ncol(cf)]), loglik = unname(fit$loglik))
  Filter(Negate(is.null), out)  # robust_se only where R computed it
}
survdiff_ref <- function(sd, call, n) {
  list(call = call, n = n, chisq = unname(sd$chisq), df = length(sd$n) - 1L,
       p = unname(pchisq(sd$chisq, length(sd$n) - 1L, lower.tail = FALSE)),
       observed = unname(if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs),
       expected = unname(if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp))
}
km_at_ref <- function(fit, times, call) {
  s <- summary(fit, times = times, extend = TRUE)
  list(call = call, group = sub(".*=", "", as.character(s$strata)), time = s$time,
       surv = s$surv, lower = s$lower, upper = s$upper)
}
cuminc_ref <- function(ci, times, call, n, cause) {
  tp <- timepoints(ci, times)
  rn <- rownames(tp$est)
  keep <- grepl(paste0(" ", cause, "$"), rn)
  tests <- ci$Tests
  list(call = call, n = n, cause = cause,
       group = sub(paste0(" ", cause, "$"), "", rn[keep]), times = times,
       est = unname(tp$est[keep, , drop = FALSE]), var = unname(tp$var[keep, , drop = FALSE]),
       gray_stat = unname(tests[as.character(cause), "stat"]),
       gray_p = unname(tests[as.character(cause), "pv"]),
       gray_df = unname(tests[as.character(cause), "df"]))
}
crr_ref <- function(fit, call, excluded, n) {
  list(call = call, n = n, excluded_ids = excluded, terms = names(fit$coef),
       coef = unname(fit$coef), se = unname(sqrt(diag(fit$var))),
       p = unname(2 * pnorm(-abs(fit$coef / sqrt(diag(fit$var))))), converged = fit$converged)
}

ref <- list(meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
                        cmprsk = as.character(packageVersion("cmprsk")),
                        KMsurv = as.character(packageVersion("KMsurv")),
                        script = "tests/reference/plans_public.R"))

## ---- bmt (tests/data/public/bmt.yaml) -----------------------------------------------
bf <- b; bf$group <- factor(bf$group)
r <- list()
r$km_group <- c(
  km_at_ref(survfit(Surv(t2, d3) ~ group, data = b), c(365, 730),
            "summary(survfit(Surv(t2, d3) ~ group, data = bmt.csv), times = c(365, 730))"),
  list(test = survdiff_ref(survdiff(Surv(t2, d3) ~ group, data = b),
                           "survdiff(Surv(t2, d3) ~ group, data = bmt.csv)", nrow(b))))
r$logrank_strat <- survdiff_ref(survdiff(Surv(t2, d3) ~ group + strata(z8), data = b),
                                "survdiff(Surv(t2, d3) ~ group + strata(z8), data = bmt.csv)", nrow(b))
cc <- complete(bf, c("t2", "d3", "group", "z1", "z7"))
r$cox_robust <- cox_ref(coxph(Surv(t2, d3) ~ group + z1 + z7, data = cc$data, robust = TRUE),
                        "coxph(Surv(t2, d3) ~ factor(group) + z1 + z7, data = bmt.csv, robust = TRUE) (complete cases: na.action = na.omit drops the same rows)",
                        cc$excluded)
stopifnot(r$cox_robust$n == coxph(Surv(t2, d3) ~ group + z1 + z7, data = bf)$n)
ci <- with(b, cuminc(t2, status, group))
r$cif_group <- cuminc_ref(ci, c(365, 730),
                          "timepoints(cuminc(t2, status, group), c(365, 730)); cuminc(...)$Tests[\"1\", ]",
                          nrow(b), 1)
cc <- complete(bf, c("t2", "status", "group", "z1"))
X <- model.matrix(~ group + z1, data = cc$data)[, -1]
r$finegray <- crr_ref(crr(cc$data$t2, cc$data$status, X, failcode = 1, cencode = 0),
                      "crr(t2, status, cov1 = model.matrix(~ factor(group) + z1)[, -1], failcode = 1) on complete cases",
                      cc$excluded, nrow(cc$data))
r$cs_cox <- cox_ref(coxph(Surv(t2, status == 1) ~ group + z1, data = cc$data),
                    "coxph(Surv(t2, status == 1) ~ factor(group) + z1, data = bmt.csv) (complete cases)",
                    cc$excluded)
## settings the plan layer must pass on (issue 11): Gray's test stratified by FAB (cif
## `strata`), and the confidence level of a cause-specific Cox model (`conf_level`)
ci_s <- with(b, cuminc(t2, status, group, strata = z8))
r$cif_group_strata <- list(
  call = "cuminc(t2, status, group, strata = z8)$Tests[\"1\", ] on bmt.csv", n = nrow(b), cause = 1,
  gray_stat = unname(ci_s$Tests["1", "stat"]), gray_p = unname(ci_s$Tests["1", "pv"]),
  gray_df = unname(ci_s$Tests["1", "df"]))
s90 <- summary(coxph(Surv(t2, status == 1) ~ group, data = bf), conf.int = 0.90)
r$cs_cox_conf90 <- list(
  call = "summary(coxph(Surv(t2, status == 1) ~ factor(group), data = bmt.csv), conf.int = 0.90)",
  n = s90$n, hr_lower = unname(s90$conf.int[, 3]), hr_upper = unname(s90$conf.int[, 4]))
ref$bmt <- r

## ---- jasa (tests/data/public/jasa.yaml) ---------------------------------------------
r <- list()
j$id <- seq_len(nrow(j))
cc <- complete(j, c("futime", "fustat", "age", "surgery"))
tm <- tmerge(cc$data[, c("id", "age", "surgery")], cc$data, id = id,
             death = event(futime, fustat), transplant = tdc(wait.time))
r$td_cox <- cox_ref(coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm,
                          cluster = id),
                    "tm <- tmerge(jasa.csv[, c('id','age','surgery')], jasa.csv, id = id, death = event(futime, fustat), transplant = tdc(wait.time)); coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, cluster = id) (complete cases in age)",
                    cc$excluded)
r$td_cox$n_patients <- length(unique(tm$id))
r$td_cox$n_intervals <- nrow(tm)
r$km_surgery <- c(
  km_at_ref(survfit(Surv(futime, fustat) ~ surgery, data = j), c(100, 365),
            "summary(survfit(Surv(futime, fustat) ~ surgery, data = jasa.csv), times = c(100, 365))"),
  list(test = survdiff_ref(survdiff(Surv(futime, fustat) ~ surgery, data = j),
                           "survdiff(Surv(futime, fustat) ~ surgery, data = jasa.csv)", nrow(j))))
ref$jasa <- r

## ---- mgus2 (tests/data/public/mgus2.yaml) -------------------------------------------
r <- list()
r$km_sex <- c(
  km_at_ref(survfit(Surv(futime, death) ~ sex, data = m), c(60, 120),
            "summary(survfit(Surv(futime, death) ~ sex, data = mgus2.csv), times = c(60, 120))"),
  list(test = survdiff_ref(survdiff(Surv(futime, death) ~ sex, data = m, rho = 1),
                           "survdiff(Surv(futime, death) ~ sex, data = mgus2.csv, rho = 1)", nrow(m))))
cc <- complete(m, c("futime", "death", "age", "sex", "hgb", "creat", "mspike"))
r$cox <- cox_ref(coxph(Surv(futime, death) ~ age + sex + hgb + creat + mspike, data = cc$data),
                 "coxph(Surv(futime, death) ~ age + sex + hgb + creat + mspike, data = mgus2.csv) (complete cases)",
                 cc$excluded)
stopifnot(r$cox$n == coxph(Surv(futime, death) ~ age + sex + hgb + creat + mspike, data = m)$n)
ci <- with(m, cuminc(etime, event, sex))
r$cif_sex <- cuminc_ref(ci, c(60, 120, 240),
                        "timepoints(cuminc(etime, event, sex), c(60, 120, 240)); cuminc(...)$Tests[\"1\", ]",
                        nrow(m), 1)
cc <- complete(m, c("etime", "event", "age", "sex", "mspike"))
X <- model.matrix(~ age + sex + mspike, data = cc$data)[, -1]
r$finegray <- crr_ref(crr(cc$data$etime, cc$data$event, X, failcode = 1, cencode = 0),
                      "crr(etime, event, cov1 = model.matrix(~ age + sex + mspike)[, -1], failcode = 1) on complete cases",
                      cc$excluded, nrow(cc$data))
r$cs_cox_death <- cox_ref(coxph(Surv(etime, event == 2) ~ age + sex + mspike, data = cc$data),
                          "coxph(Surv(etime, event == 2) ~ age + sex + mspike, data = mgus2.csv) (complete cases)",
                          cc$excluded)
ref$mgus2 <- r

## jsonlite prints at most 15 significant digits; numbers are written with 17 (round-trip
## exact doubles) by formatting them as marked strings and unquoting them afterwards.
full <- function(x) {
  if (is.list(x)) return(lapply(x, full))
  if (is.numeric(x) && !is.integer(x)) {
    y <- ifelse(is.na(x), NA_character_, sprintf("@@%.17g@@", x))
    if (is.matrix(x)) y <- matrix(y, nrow(x))
    return(y)
  }
  x
}
txt <- toJSON(full(ref), auto_unbox = TRUE, pretty = TRUE, na = "null")
txt <- gsub('"@@([^@]*)@@"', "\\1", txt)
stopifnot(!grepl("@@", txt), !grepl("Inf|NaN", txt))
writeLines(txt, "tests/reference/plans_public.json")
cat("wrote tests/reference/plans_public.json and", dat_dir, "\n")
