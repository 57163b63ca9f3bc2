# Reference values for aplcohort.stats.timedep (time-dependent exposure).
# Run from the repository root:  Rscript tests/reference/timedep.R
# Writes tests/reference/timedep.json (full precision) and the input data as CSV in
# tests/reference/data/ so that the Python tests run without R.
# R 4.2.2, survival 3.5-3.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
out_dir <- "tests/reference"
dat_dir <- file.path(out_dir, "data")
dir.create(dat_dir, showWarnings = FALSE, recursive = TRUE)

## ---- 1. Stanford heart transplant, one row per patient (jasa) --------------------
## The one patient with 0 days of follow-up (subject 15) gets 0.5 day, as in the
## survival "timedep" vignette (a (0, 0] interval does not exist).  Transplant times are
## kept as recorded (NOT shifted by 0.5 as in the vignette), so that the same-day rule
## "transplant on the day of death -> counted unexposed" is what tmerge does too.
j <- jasa
j$id <- seq_len(nrow(j))
tdata <- data.frame(id = j$id,
                    futime = pmax(0.5, as.numeric(j$fu.date - j$accept.dt)),
                    fustat = j$fustat,
                    txtime = as.numeric(j$tx.date - j$accept.dt),
                    age = j$age,
                    year = as.numeric(j$accept.dt - as.Date("1967-10-01")) / 365.25,
                    surgery = j$surgery)
write.csv(tdata, file.path(dat_dir, "timedep_jasa_tx.csv"), row.names = FALSE, na = "")

## tmerge: transplant as a time-dependent covariate
tm <- tmerge(tdata[, c("id", "age", "year", "surgery")], tdata, id = id,
             death = event(futime, fustat), transplant = tdc(txtime))
tm <- tm[order(tm$id, tm$tstart), c("id", "tstart", "tstop", "death", "transplant",
                                     "age", "year", "surgery")]
write.csv(tm, file.path(dat_dir, "timedep_jasa_tmerge.csv"), row.names = FALSE)

## survival::jasa1: the vignette's version, in which a transplant on the day of death is
## moved 0.5 day earlier (counted as exposed before the death)
write.csv(jasa1, file.path(dat_dir, "timedep_jasa1.csv"), row.names = FALSE)

## survival::heart (already in counting-process form; transplant a 0/1 factor)
h <- heart
h$transplant <- as.integer(as.character(h$transplant))
write.csv(h, file.path(dat_dir, "timedep_heart.csv"), row.names = FALSE)

## ---- helpers ---------------------------------------------------------------------
cox_ref <- function(fit) {
  s <- summary(fit)
  list(coef = unname(coef(fit)), names = names(coef(fit)),
       var = unname(fit$var), se = unname(sqrt(diag(fit$var))),
       robust_se = if (!is.null(fit$naive.var)) unname(sqrt(diag(fit$var))) else NULL,
       naive_se = if (!is.null(fit$naive.var)) unname(sqrt(diag(fit$naive.var))) else NULL,
       loglik = unname(fit$loglik), score = unname(fit$score),
       wald = unname(fit$wald.test), n = fit$n, nevent = fit$nevent,
       conf = unname(s$conf.int[, c("lower .95", "upper .95"), drop = FALSE]),
       p = unname(s$coefficients[, ncol(s$coefficients)]))
}
km_ref <- function(fit, conf.type) {
  st <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
    rep(sub(".*=", "", names(fit$strata)), fit$strata)
  list(group = st, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
       n_censor = fit$n.censor, n_enter = fit$n.enter, surv = fit$surv,
       std_err = fit$std.err * fit$surv, lower = fit$lower, upper = fit$upper,
       conf_type = conf.type)
}
## Observed / expected events among the exposed (Mantel-Byar), by hand
mb_oe <- function(d, start, stop, ev, x) {
  dt <- sort(unique(d[[stop]][d[[ev]] == 1]))
  E <- 0; V <- 0
  for (t in dt) {
    r <- d[[start]] < t & d[[stop]] >= t
    n <- sum(r); n1 <- sum(r & d[[x]] == 1)
    dd <- sum(d[[stop]] == t & d[[ev]] == 1)
    E <- E + dd * n1 / n
    V <- V + if (n > 1) dd * (n1 / n) * (1 - n1 / n) * (n - dd) / (n - 1) else 0
  }
  list(observed = sum(d[[ev]] == 1 & d[[x]] == 1), expected = E, var_hypergeometric = V)
}

ref <- list()
ref$meta <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

## ---- 2. Cox on counting-process data ---------------------------------------------
for (ties in c("efron", "breslow")) {
  # coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, ties = ties)
  ref[[paste0("tm_cox_", ties)]] <- cox_ref(
    coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, ties = ties))
  # robust (sandwich) SE clustered on the patient
  ref[[paste0("tm_cox_robust_", ties)]] <- cox_ref(
    coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm, ties = ties,
          cluster = id))
  # classical heart model
  ref[[paste0("heart_cox_", ties)]] <- cox_ref(
    coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = h,
          ties = ties))
  ref[[paste0("heart_cox_robust_", ties)]] <- cox_ref(
    coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = h,
          ties = ties, cluster = id))
  ## ---- 3. Mantel-Byar = score test of the time-dependent exposure -----------------
  f <- coxph(Surv(tstart, tstop, death) ~ transplant, data = tm, ties = ties)
  ref[[paste0("tm_mantel_byar_", ties)]] <- c(
    list(statistic = unname(f$score), df = 1,
         p = pchisq(unname(f$score), 1, lower.tail = FALSE)),
    mb_oe(tm, "tstart", "tstop", "death", "transplant"))
  f <- coxph(Surv(start, stop, event) ~ transplant, data = h, ties = ties)
  ref[[paste0("heart_mantel_byar_", ties)]] <- c(
    list(statistic = unname(f$score), df = 1,
         p = pchisq(unname(f$score), 1, lower.tail = FALSE)),
    mb_oe(h, "start", "stop", "event", "transplant"))
}

## stratified (surgery as strata)
ref$tm_cox_strata_efron <- cox_ref(
  coxph(Surv(tstart, tstop, death) ~ transplant + age + strata(surgery), data = tm))

## ---- 4. Simon-Makuch: survfit on counting-process data ---------------------------
for (ct in c("log", "log-log", "plain")) {
  # survfit(Surv(tstart, tstop, death) ~ transplant, data = tm, conf.type = ct)
  ref[[paste0("tm_survfit_", ct)]] <- km_ref(
    survfit(Surv(tstart, tstop, death) ~ transplant, data = tm, conf.type = ct), ct)
}
ref$heart_survfit_log <- km_ref(
  survfit(Surv(start, stop, event) ~ transplant, data = h), "log")

## ---- 5. Landmark analyses on jasa_tx --------------------------------------------
## Landmark L: keep patients with futime > L (alive and followed beyond L);
## exposed = transplanted at or before L; time restarted at L.
ref$landmark <- list()
for (L in c(30, 60)) {
  d <- tdata
  n_event_before <- sum(d$futime <= L & d$fustat == 1)
  n_cens_before <- sum(d$futime <= L & d$fustat == 0)
  d <- d[d$futime > L, ]
  d$tx <- as.integer(!is.na(d$txtime) & d$txtime <= L)
  d$t <- d$futime - L
  km <- survfit(Surv(t, fustat) ~ tx, data = d)
  lr <- survdiff(Surv(t, fustat) ~ tx, data = d)
  cx <- coxph(Surv(t, fustat) ~ tx, data = d)
  ref$landmark[[as.character(L)]] <- list(
    landmark = L, n_start = nrow(tdata), n_event_before = n_event_before,
    n_censored_before = n_cens_before, n_included = nrow(d),
    n_exposed = sum(d$tx), ids = d$id,
    km = km_ref(km, "log"),
    logrank = list(statistic = lr$chisq, df = 1,
                   p = pchisq(lr$chisq, 1, lower.tail = FALSE),
                   observed = unname(lr$obs), expected = unname(lr$exp)),
    cox = cox_ref(cx))
}

write(toJSON(ref, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE),
      file.path(out_dir, "timedep.json"))
cat("wrote", file.path(out_dir, "timedep.json"), "\n")
