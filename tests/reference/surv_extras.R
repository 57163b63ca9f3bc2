## Reference values for the survival-curve / test extras of issue 16 (tests/test_surv_extras.py):
## cumulative hazard (ctype, stype), influence values, conditional survival (start.time),
## reverse KM, Peto-Prentice test (by hand) beside survdiff(rho = 1), floating-point
## near-ties (aeqSurv), summary(extend = TRUE) and survRM2::rmst2 (formulas reproduced here;
## survRM2 is not installed).
## Run from the repository root:  Rscript tests/reference/surv_extras.R
## Reads the CSVs written by tests/reference/km_logrank.R (tests/reference/data/km_*.csv);
## writes tests/reference/surv_extras.json (17 significant digits).
## R 4.2.2, survival 3.5-3, jsonlite.
suppressMessages({library(survival); library(jsonlite)})
ref_dir <- file.path("tests", "reference")
dat_dir <- file.path(ref_dir, "data")
aml2 <- read.csv(file.path(dat_dir, "km_aml.csv"))
lung2 <- read.csv(file.path(dat_dir, "km_lung.csv"))
vet2 <- read.csv(file.path(dat_dir, "km_veteran.csv"))
heart2 <- read.csv(file.path(dat_dir, "km_heart.csv"))
datasets <- list(aml = aml2, lung = lung2, veteran = vet2, heart = heart2)
srt <- function(x) sort(unique(x), method = "radix")   # C-locale order, as Python sorted()

surv_of <- function(d, entry) {
  if (entry) Surv(d$start, d$stop, d$event) else Surv(d$time, d$status)
}
fit_of <- function(d, group, entry, ...) {
  y <- surv_of(d, entry)
  if (is.null(group)) survfit(y ~ 1, ...)
  else survfit(y ~ factor(d[[group]], levels = srt(d[[group]])), ...)
}
labels_of <- function(fit) {
  if (is.null(fit$strata)) rep("all", length(fit$time))
  else rep(sub(".*=", "", names(fit$strata)), fit$strata)   # labels contain no "="
}

## ------------------------------------------------ 1. cumulative hazard, ctype / stype
## survfit(..., ctype = , stype = ): surv, std.err (SE of log S), lower/upper (S CI),
## cumhaz, std.chaz; the cumulative-hazard CI as plot.survfit(cumhaz = TRUE) draws it:
## survfit_confint(cumhaz, std.chaz, logse = FALSE, conf.type, ulimit = FALSE).
cumhaz_cases <- list(
  list(name = "aml_c1_s1", dataset = "aml", group = "group", entry = FALSE, weights = NULL,
       ctype = 1, stype = 1, conf_type = "log", chaz_conf_type = "plain"),
  list(name = "aml_c2_s1", dataset = "aml", group = "group", entry = FALSE, weights = NULL,
       ctype = 2, stype = 1, conf_type = "log", chaz_conf_type = "plain"),
  list(name = "aml_c1_s2", dataset = "aml", group = "group", entry = FALSE, weights = NULL,
       ctype = 1, stype = 2, conf_type = "log-log", chaz_conf_type = "log"),
  list(name = "aml_c2_s2", dataset = "aml", group = "group", entry = FALSE, weights = NULL,
       ctype = 2, stype = 2, conf_type = "plain", chaz_conf_type = "plain"),
  list(name = "veteran_c2_s2", dataset = "veteran", group = "trt", entry = FALSE,
       weights = NULL, ctype = 2, stype = 2, conf_type = "log", chaz_conf_type = "log"),
  list(name = "lung_c2_s2", dataset = "lung", group = NULL, entry = FALSE, weights = NULL,
       ctype = 2, stype = 2, conf_type = "log", chaz_conf_type = "plain"),
  list(name = "heart_c2_s2_lefttrunc", dataset = "heart", group = "transplant", entry = TRUE,
       weights = NULL, ctype = 2, stype = 2, conf_type = "log", chaz_conf_type = "plain"),
  list(name = "heart_c1_s1_lefttrunc", dataset = "heart", group = NULL, entry = TRUE,
       weights = NULL, ctype = 1, stype = 1, conf_type = "log", chaz_conf_type = "log"),
  list(name = "aml_c2_s2_intweights", dataset = "aml", group = "group", entry = FALSE,
       weights = "w", ctype = 2, stype = 2, conf_type = "log", chaz_conf_type = "plain"),
  list(name = "aml_c1_s1_intweights", dataset = "aml", group = NULL, entry = FALSE,
       weights = "w", ctype = 1, stype = 1, conf_type = "log", chaz_conf_type = "plain")
)
cumhaz_out <- lapply(cumhaz_cases, function(cs) {
  d <- datasets[[cs$dataset]]
  w <- if (is.null(cs$weights)) NULL else d[[cs$weights]]
  fit <- if (is.null(w)) fit_of(d, cs$group, cs$entry, ctype = cs$ctype, stype = cs$stype,
                                 conf.type = cs$conf_type)
         else fit_of(d, cs$group, cs$entry, ctype = cs$ctype, stype = cs$stype,
                     conf.type = cs$conf_type, weights = w)
  ci <- survival:::survfit_confint(fit$cumhaz, fit$std.chaz, logse = FALSE,
                                   cs$chaz_conf_type, 0.95, ulimit = FALSE)
  c(cs, list(rows = list(group = labels_of(fit), time = fit$time, n_risk = fit$n.risk,
                         n_event = fit$n.event, surv = fit$surv, logse = fit$std.err,
                         lower = fit$lower, upper = fit$upper, cumhaz = fit$cumhaz,
                         std_chaz = fit$std.chaz, chaz_lower = ci$lower,
                         chaz_upper = ci$upper)))
})

## ------------------------------------------------ 2. influence values of KM
## survfit(..., influence = TRUE)$influence.surv: one row per observation (in data order
## within the group), one column per time of that group's curve.
infl_cases <- list(
  list(name = "aml_by_group", dataset = "aml", group = "group", entry = FALSE),
  list(name = "veteran_all", dataset = "veteran", group = NULL, entry = FALSE),
  list(name = "heart_lefttrunc", dataset = "heart", group = NULL, entry = TRUE),
  list(name = "aml_noninteger_weights", dataset = "aml", group = "group", entry = FALSE,
       weights = "w2")
)
infl_out <- lapply(infl_cases, function(cs) {
  d <- datasets[[cs$dataset]]
  fit <- if (is.null(cs$weights)) fit_of(d, cs$group, cs$entry, influence = TRUE)
         else fit_of(d, cs$group, cs$entry, influence = TRUE, weights = d[[cs$weights]])
  inf <- fit$influence.surv
  if (!is.list(inf)) inf <- list(all = inf)
  labs <- if (is.null(cs$group)) "all" else srt(d[[cs$group]])
  c(cs, list(groups = as.list(as.character(labs)),
             influence = lapply(inf, function(m) unname(lapply(seq_len(nrow(m)),
                                                               function(i) m[i, ]))),
             ## influence = TRUE makes the variance robust and then std.err is the SE of S
             ## itself (fit$logse FALSE)
             logse = fit$logse,
             std_err = if (isTRUE(fit$logse)) fit$std.err * fit$surv else fit$std.err))
})

## ------------------------------------------------ 3. conditional survival, reverse KM
cond_cases <- list(
  list(name = "aml_start10", dataset = "aml", group = "group", start_time = 10),
  list(name = "lung_start180", dataset = "lung", group = "sex", start_time = 180),
  list(name = "veteran_start_on_event_time", dataset = "veteran", group = NULL,
       start_time = 100)
)
cond_out <- lapply(cond_cases, function(cs) {
  d <- datasets[[cs$dataset]]
  fit <- fit_of(d, cs$group, FALSE, start.time = cs$start_time)
  q <- quantile(fit, 0.5)
  times <- c(cs$start_time, cs$start_time + 30, cs$start_time + 200)
  s <- summary(fit, times = times, extend = TRUE)
  c(cs, list(rows = list(group = labels_of(fit), time = fit$time, n_risk = fit$n.risk,
                         n_event = fit$n.event, n_censor = fit$n.censor, surv = fit$surv,
                         std_err = fit$std.err * fit$surv, lower = fit$lower,
                         upper = fit$upper),
             median = list(median = unname(q$quantile), lower = unname(q$lower),
                           upper = unname(q$upper)),
             at = list(time = s$time, surv = s$surv, std_err = s$std.err,
                       n_risk = s$n.risk)))
})

## reverse KM: survfit(Surv(time, 1 - status) ~ g), its CI and quantile(0.5)
rev_cases <- list(
  list(name = "lung_by_sex", dataset = "lung", group = "sex", conf_type = "log"),
  list(name = "aml_by_group_loglog", dataset = "aml", group = "group", conf_type = "log-log"),
  list(name = "veteran_all", dataset = "veteran", group = NULL, conf_type = "log")
)
rev_out <- lapply(rev_cases, function(cs) {
  d <- datasets[[cs$dataset]]
  y <- Surv(d$time, 1 - d$status)
  fit <- if (is.null(cs$group)) survfit(y ~ 1, conf.type = cs$conf_type)
         else survfit(y ~ factor(d[[cs$group]], levels = srt(d[[cs$group]])),
                      conf.type = cs$conf_type)
  q <- quantile(fit, 0.5)
  c(cs, list(rows = list(group = labels_of(fit), time = fit$time, surv = fit$surv,
                         std_err = fit$std.err * fit$surv, lower = fit$lower,
                         upper = fit$upper, n_risk = fit$n.risk),
             median = list(median = unname(q$quantile), lower = unname(q$lower),
                           upper = unname(q$upper))))
})

## ------------------------------------------------ 4. Peto-Prentice test, by hand
## Weight at each distinct event time t_j (pooled over groups, within stratum):
##   w_j = prod_{i <= j} (1 - d_i / (n_i + 1))      (Prentice's modified survivor, AT t_j;
##   Stata `sts test, peto`, Kleinbaum & Klein's "Peto" weight)
## and the usual weighted O - E and hypergeometric variance
##   V_gh = sum_j w_j^2 d_j (n_j - d_j) / (n_j - 1) * n_gj / n_j * (1[g=h] - n_hj / n_j).
## An explicit loop, independent of survdiff; the same loop with w_j = S_KM(t_j-) is checked
## to reproduce survdiff(rho = 1), and with w_j = 1 survdiff(rho = 0).
weighted_by_hand <- function(time, status, group, strata, kind) {
  lev <- srt(group); k <- length(lev)
  O <- E <- rep(0, k); V <- matrix(0, k, k)
  if (is.null(strata)) strata <- rep(1, length(time))
  for (s in unique(strata)) {
    m <- strata == s
    tt <- time[m]; st <- status[m]; gg <- match(group[m], lev)
    ut <- sort(unique(tt[st == 1]))
    skm <- 1; spp <- 1
    for (t in ut) {
      n_g <- sapply(1:k, function(g) sum(tt >= t & gg == g))
      d_g <- sapply(1:k, function(g) sum(tt == t & st == 1 & gg == g))
      n <- sum(n_g); d <- sum(d_g)
      spp <- spp * (1 - d / (n + 1))
      w <- switch(kind, logrank = 1, peto_peto = skm, peto_prentice = spp)
      O <- O + w * d_g
      E <- E + w * d * n_g / n
      if (n > 1) {
        c0 <- w^2 * d * (n - d) / (n - 1)
        V <- V + c0 * (diag(n_g / n, k) - outer(n_g / n, n_g / n))
      }
      skm <- skm * (1 - d / n)
    }
  }
  keep <- which(E > 0)[-1]
  z <- (O - E)[keep]
  chisq <- drop(t(z) %*% solve(V[keep, keep, drop = FALSE], z))
  list(observed = O, expected = E, var = V, chisq = chisq, df = length(keep),
       p = pchisq(chisq, length(keep), lower.tail = FALSE))
}
test_cases <- list(
  list(name = "aml", dataset = "aml", group = "group", strata = NULL),
  list(name = "veteran_celltype", dataset = "veteran", group = "celltype", strata = NULL),
  list(name = "lung_sex", dataset = "lung", group = "sex", strata = NULL),
  list(name = "veteran_trt_by_celltype", dataset = "veteran", group = "trt",
       strata = "celltype")
)
test_out <- lapply(test_cases, function(cs) {
  d <- datasets[[cs$dataset]]
  g <- d[[cs$group]]; s <- if (is.null(cs$strata)) NULL else d[[cs$strata]]
  pp <- weighted_by_hand(d$time, d$status, g, s, "peto_prentice")
  pk <- weighted_by_hand(d$time, d$status, g, s, "peto_peto")
  lr <- weighted_by_hand(d$time, d$status, g, s, "logrank")
  f <- if (is.null(s)) Surv(time, status) ~ factor(g, levels = srt(g))
       else Surv(time, status) ~ factor(g, levels = srt(g)) + strata(s)
  sd1 <- survdiff(f, data = cbind(d, g = g, s = if (is.null(s)) 1 else s), rho = 1)
  sd0 <- survdiff(f, data = cbind(d, g = g, s = if (is.null(s)) 1 else s), rho = 0)
  stopifnot(abs(pk$chisq - sd1$chisq) < 1e-10 * sd1$chisq,
            abs(lr$chisq - sd0$chisq) < 1e-10 * sd0$chisq)
  c(cs, list(peto_prentice = pp,
             survdiff_rho1 = list(chisq = sd1$chisq, observed = unname(sd1$obs),
                                  expected = unname(sd1$exp), var = unname(sd1$var),
                                  p = pchisq(sd1$chisq, length(sd1$n) - 1,
                                             lower.tail = FALSE))))
})

## ------------------------------------------------ 5. floating-point near-ties (aeqSurv)
## times 2 and sqrt(2)^2 (= 2.0000000000000004), 3 and sqrt(3)^2 (= 2.9999999999999996)
near <- data.frame(time = c(1, 2, sqrt(2)^2, 2, sqrt(2)^2, 3, sqrt(3)^2, 3, 1, sqrt(3)^2),
                   status = c(1, 1, 1, 0, 1, 1, 1, 0, 1, 1),
                   group = c(0, 0, 1, 1, 0, 1, 0, 1, 1, 1),
                   x = c(0.5, 1.2, -0.3, 0.8, 2.1, -1.0, 0.4, 1.5, -0.7, 0.9),
                   cause = c(1, 2, 1, 0, 2, 1, 1, 0, 2, 1))
near$entry <- c(0, 0, 0, 1, 1, sqrt(2)^2, 0, 2, 0, 2)   # (start, stop] with near-tied starts
near_fit <- survfit(Surv(time, status) ~ 1, data = near)
near_lr <- survdiff(Surv(time, status) ~ group, data = near)
near_cox <- coxph(Surv(time, status) ~ group + x, data = near)
near_cox_notimefix <- coxph(Surv(time, status) ~ group + x, data = near,
                            control = coxph.control(timefix = FALSE))
near_cox_cp <- coxph(Surv(entry, time, status) ~ group + x, data = near[near$entry < near$time, ])
near_ci <- survfit(Surv(time, factor(cause, 0:2)) ~ 1, data = near)
## Fine-Gray: cmprsk::crr does not merge near-ties itself; R survival's finegray() does
## (timefix). The reference is crr on the merged times (aeqSurv's grid), which is what
## aplcohort's fine_gray fits after merging.
suppressMessages(library(cmprsk))
merged_time <- aeqSurv(Surv(near$time, near$status))[, 1]
near_crr <- crr(merged_time, near$cause, cbind(group = near$group, x = near$x),
                failcode = 1, cencode = 0)
near_crr_raw <- crr(near$time, near$cause, cbind(group = near$group, x = near$x),
                    failcode = 1, cencode = 0)
aeq_out <- list(
  data = list(time = sprintf("%.17g", near$time), status = near$status, group = near$group,
              x = near$x, cause = near$cause, entry = sprintf("%.17g", near$entry)),
  km = list(time = near_fit$time, surv = near_fit$surv, n_risk = near_fit$n.risk,
            n_event = near_fit$n.event, std_err = near_fit$std.err * near_fit$surv),
  km_raw_distinct_times = length(unique(near$time)),
  logrank = list(chisq = near_lr$chisq, observed = unname(near_lr$obs),
                 expected = unname(near_lr$exp)),
  cox = list(coef = unname(coef(near_cox)), se = unname(sqrt(diag(vcov(near_cox))))),
  cox_no_timefix = list(coef = unname(coef(near_cox_notimefix))),
  cox_counting = list(coef = unname(coef(near_cox_cp)),
                      se = unname(sqrt(diag(vcov(near_cox_cp))))),
  cif = list(time = near_ci$time, cif1 = near_ci$pstate[, 2], cif2 = near_ci$pstate[, 3]),
  finegray = list(coef = unname(near_crr$coef), se = unname(sqrt(diag(near_crr$var))),
                  coef_unmerged = unname(near_crr_raw$coef))
)

## ------------------------------------------------ 6. RMST as survRM2::rmst2
## rmst1 of survRM2 (v1.0-3), verbatim in substance
rmst1 <- function(time, status, tau) {
  ft <- survfit(Surv(time, status) ~ 1)
  idx <- ft$time <= tau
  wk.time <- sort(c(ft$time[idx], tau))
  wk.surv <- ft$surv[idx]
  wk.n.risk <- ft$n.risk[idx]
  wk.n.event <- ft$n.event[idx]
  time.diff <- diff(c(0, wk.time))
  areas <- time.diff * c(1, wk.surv)
  rmst <- sum(areas)
  wk.var <- ifelse((wk.n.risk - wk.n.event) == 0, 0,
                   wk.n.event / (wk.n.risk * (wk.n.risk - wk.n.event)))
  wk.var <- c(wk.var, 0)
  rmst.var <- sum(cumsum(rev(areas[-1]))^2 * rev(wk.var)[-1])
  list(rmst = rmst, var = rmst.var, se = sqrt(rmst.var), rmtl = tau - rmst)
}
## tau: given, else the minimum over arms of the largest observed time; the largest
## supported tau (survRM2 tau_max): the smallest last-observed time among arms whose last
## observation is censored (a curve ending in an event is 0 and defined beyond), else the
## largest observed time.
tau_rule <- function(time, status, arm) {
  last <- sapply(0:1, function(a) max(time[arm == a]))
  last_status <- sapply(0:1, function(a) min(status[arm == a & time == max(time[arm == a])]))
  cens <- last_status == 0
  tau_max <- if (any(cens)) min(last[cens]) else max(last)
  list(default = min(last), tau_max = tau_max)
}
rmst2_by_hand <- function(time, status, arm, tau = NULL, alpha = 0.05) {
  tr <- tau_rule(time, status, arm)
  if (is.null(tau)) tau <- tr$default
  stopifnot(tau <= tr$tau_max)
  a0 <- rmst1(time[arm == 0], status[arm == 0], tau)
  a1 <- rmst1(time[arm == 1], status[arm == 1], tau)
  z <- qnorm(1 - alpha / 2)
  dif <- a1$rmst - a0$rmst; dse <- sqrt(a1$var + a0$var)
  lr <- log(a1$rmst / a0$rmst); lse <- sqrt(a1$var / a1$rmst^2 + a0$var / a0$rmst^2)
  lt <- log(a1$rmtl / a0$rmtl); tse <- sqrt(a1$var / a1$rmtl^2 + a0$var / a0$rmtl^2)
  list(tau = tau, tau_max = tr$tau_max,
       arm0 = a0, arm1 = a1,
       difference = list(est = dif, se = dse, lower = dif - z * dse, upper = dif + z * dse,
                         p = 2 * pnorm(-abs(dif) / dse)),
       ratio = list(est = exp(lr), log_se = lse, lower = exp(lr - z * lse),
                    upper = exp(lr + z * lse), p = 2 * pnorm(-abs(lr) / lse)),
       rmtl_ratio = list(est = exp(lt), log_se = tse, lower = exp(lt - z * tse),
                         upper = exp(lt + z * tse), p = 2 * pnorm(-abs(lt) / tse)))
}
rmst_cases <- list(
  list(name = "aml_default_tau", dataset = "aml", group = "group",
       arm1_label = "Nonmaintained", tau = NULL),
  list(name = "aml_tau30", dataset = "aml", group = "group", arm1_label = "Nonmaintained", tau = 30),
  list(name = "lung_sex_tau365", dataset = "lung", group = "sex", arm1_label = 2, tau = 365),
  list(name = "lung_sex_default_tau", dataset = "lung", group = "sex", arm1_label = 2, tau = NULL),
  list(name = "veteran_trt_tau200", dataset = "veteran", group = "trt", arm1_label = 2, tau = 200)
)
rmst_out <- lapply(rmst_cases, function(cs) {
  d <- datasets[[cs$dataset]]
  arm <- as.integer(d[[cs$group]] == cs$arm1_label)
  r <- rmst2_by_hand(d$time, d$status, arm, cs$tau)
  ## cross-check the arm values with survival's own restricted mean (print(fit, rmean=))
  sm <- summary(survfit(Surv(time, status) ~ arm, data = cbind(d, arm = arm)),
                rmean = r$tau)$table
  stopifnot(max(abs(sm[, "rmean"] - c(r$arm0$rmst, r$arm1$rmst))) < 1e-9,
            max(abs(sm[, "se(rmean)"] - c(r$arm0$se, r$arm1$se))) < 1e-9)
  c(cs[names(cs) != "tau"], list(tau_given = if (is.null(cs$tau)) NA else cs$tau), r)
})
## the aml arms' supported horizon (reject beyond it)
aml_tr <- tau_rule(aml2$time, aml2$status, as.integer(aml2$group == "Nonmaintained"))

out <- list(cumhaz = cumhaz_out, influence = infl_out, conditional = cond_out,
            reverse = rev_out, tests = test_out, aeq = aeq_out, rmst = rmst_out,
            aml_tau_max = aml_tr$tau_max)
## jsonlite prints at most 15 significant digits: write every number with "%.17g" verbatim
num17 <- function(x) {
  if (is.list(x)) return(lapply(x, num17))
  if (is.matrix(x) && is.numeric(x)) return(lapply(seq_len(nrow(x)), function(i) num17(x[i, ])))
  if (!is.numeric(x)) return(x)
  v <- ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "Infinity", "-Infinity"),
                                      sprintf("%.17g", x)))   # Python json reads Infinity
  structure(if (length(x) == 1) v else paste0("[", paste(v, collapse = ","), "]"),
            class = "json")
}
writeLines(toJSON(num17(out), na = "null", auto_unbox = TRUE, null = "null",
                  json_verbatim = TRUE),
           file.path(ref_dir, "surv_extras.json"))
