## Reference values for aplcohort.adjust (propensity scores, weights, matching, balance,
## weighted KM / CIF / Cox, adjusted risks, E-values).
## Run from the repository root:  Rscript tests/reference/adjust.R
## Writes tests/reference/adjust.json and the input data tests/reference/data/adjust_*.csv.
## R 4.2.2, survival 3.5-3, MatchIt 4.5.1, nnet, KMsurv, riskRegression 2022.11.28, jsonlite.
##
## MatchIt 4.5.1 (Debian) truncates distance differences to integers on its vector / glm
## path (fixed in 4.5.4, NEWS #163); we therefore ALWAYS pass a treated x control distance
## matrix of |logit PS differences|, which uses its correct matrix code path. With a matrix,
## MatchIt only offers m.order "data"/"random", so "largest"/"smallest" are obtained by
## putting the treated rows in that order (controls keep their row order).
suppressMessages({library(survival); library(jsonlite); library(MatchIt); library(nnet)
                  library(KMsurv); library(riskRegression)})
ref_dir <- file.path("tests", "reference")
dat_dir <- file.path(ref_dir, "data")
dir.create(dat_dir, showWarnings = FALSE, recursive = TRUE)
out <- list()

## ---------------------------------------------------------------- datasets
lung2 <- na.omit(data.frame(id = seq_len(nrow(lung)), time = lung$time, status = lung$status - 1,
                            sex = ifelse(lung$sex == 1, "M", "F"), age = lung$age,
                            ph_ecog = pmin(lung$ph.ecog, 2), wt_loss = lung$wt.loss))
lung2$id <- seq_len(nrow(lung2))
rec <- colon[colon$etype == 1, ]; dth <- colon[colon$etype == 2, ]
stopifnot(all(rec$id == dth$id))
colon2 <- data.frame(id = dth$id, rx = as.character(dth$rx), age = dth$age,
                     sex = ifelse(dth$sex == 1, "M", "F"), extent = dth$extent,
                     nodes = dth$nodes, os_time = dth$time, os_status = dth$status,
                     cr_time = ifelse(rec$status == 1, rec$time, dth$time),
                     cr_code = ifelse(rec$status == 1, 1L, ifelse(dth$status == 1, 2L, 0L)))
colon2 <- na.omit(colon2)
data(bmt)
bmt2 <- data.frame(id = seq_len(nrow(bmt)), mtx = bmt$z10, age = bmt$z1, donor_age = bmt$z2,
                   fab = bmt$z8, disease = c("ALL", "AML-low", "AML-high")[bmt$group],
                   time = bmt$t2, code = ifelse(bmt$d2 == 1, 1L, ifelse(bmt$d1 == 1, 2L, 0L)))
write.csv(lung2, file.path(dat_dir, "adjust_lung.csv"), row.names = FALSE)
write.csv(colon2, file.path(dat_dir, "adjust_colon.csv"), row.names = FALSE)
write.csv(bmt2, file.path(dat_dir, "adjust_bmt.csv"), row.names = FALSE)
lung2 <- read.csv(file.path(dat_dir, "adjust_lung.csv"))
colon2 <- read.csv(file.path(dat_dir, "adjust_colon.csv"))
bmt2 <- read.csv(file.path(dat_dir, "adjust_bmt.csv"))

## ---------------------------------------------------------------- weights by formula
wts <- function(P, z, estimand, focal = NULL) {   # P: n x K fitted probs, z: 1..K
  ez <- P[cbind(seq_along(z), z)]
  switch(estimand,
         ATE = 1 / ez,
         ATT = P[, focal] / ez,
         ATO = (1 / ez) / rowSums(1 / P),
         ATM = apply(P, 1, min) / ez)
}
kish <- function(w) sum(w)^2 / sum(w^2)
ess_by <- function(w, z, K) sapply(seq_len(K), function(k) kish(w[z == k]))
trunc_by <- function(w, z, q) {
  for (k in unique(z)) { m <- z == k; cap <- quantile(w[m], q, type = 7); w[m] <- pmin(w[m], cap) }
  w
}

## ---- binary: lung, treatment sex (groups sorted: F, M; model P(M))
lung2$ph_ecog_f <- factor(lung2$ph_ecog)
g <- glm(I(sex == "M") ~ age + ph_ecog_f + wt_loss, family = binomial, data = lung2,
         control = glm.control(epsilon = 1e-14, maxit = 100))
pM <- unname(fitted(g)); P <- cbind(1 - pM, pM); z <- ifelse(lung2$sex == "M", 2L, 1L)
w_ate <- wts(P, z, "ATE")
keep <- apply(P, 1, min) >= 0.2
out$ps_lung <- list(
  coef = unname(coef(g)), se = unname(sqrt(diag(vcov(g)))), p_M = pM,
  w_ate = w_ate, w_ate_stab = w_ate * (tabulate(z) / length(z))[z],
  w_att = wts(P, z, "ATT", 2), w_ato = wts(P, z, "ATO"), w_atm = wts(P, z, "ATM"),
  ess_ate = ess_by(w_ate, z, 2),
  trim_keep_id = lung2$id[keep], w_ate_trim = wts(P[keep, ], z[keep], "ATE"),
  w_ate_trunc = trunc_by(w_ate, z, 0.9))

## ---- multinomial: colon, treatment rx (groups sorted: Lev, Lev+5FU, Obs)
colon2$extent_f <- factor(colon2$extent)
colon2$rx_f <- factor(colon2$rx, levels = c("Lev", "Lev+5FU", "Obs"))
mn <- multinom(rx_f ~ age + sex + extent_f + nodes, data = colon2, trace = FALSE,
               maxit = 2000, reltol = 1e-16, abstol = 1e-300)
Pc <- unname(fitted(mn)); zc <- as.integer(colon2$rx_f)
out$ps_colon <- list(P = Pc, coef = unname(coef(mn)),
                     w_ate = wts(Pc, zc, "ATE"), w_att_5fu = wts(Pc, zc, "ATT", 2),
                     w_ato = wts(Pc, zc, "ATO"), w_atm = wts(Pc, zc, "ATM"),
                     ess_ato = ess_by(wts(Pc, zc, "ATO"), zc, 3))

## ---------------------------------------------------------------- matching (lung)
lp <- qlogis(pM)                    # logit P(M): treated = M
sd_lp <- sd(lp)
run_match <- function(ratio = 1, caliper = NULL, replace = FALSE, order = "largest",
                      exact = NULL) {
  d <- lung2; d$lp <- lp; d$treat <- as.integer(d$sex == "M")
  tr <- which(d$treat == 1); co <- which(d$treat == 0)
  tr <- switch(order, largest = tr[order(-d$lp[tr])], smallest = tr[order(d$lp[tr])], data = tr)
  d <- d[c(tr, co), ]; rownames(d) <- as.character(d$id)
  D <- abs(outer(d$lp[d$treat == 1], d$lp[d$treat == 0], "-"))
  args <- list(formula = treat ~ age + ph_ecog_f + wt_loss, data = d, method = "nearest",
               distance = D, ratio = ratio, replace = replace, m.order = "data")
  if (!is.null(caliper)) { args$caliper <- caliper * sd_lp; args$std.caliper <- FALSE }
  if (!is.null(exact)) args$exact <- exact
  m <- suppressWarnings(do.call(matchit, args))
  mm <- m$match.matrix
  s <- summary(m, un = TRUE, standardize = TRUE)
  list(treated_id = as.integer(rownames(mm)),
       match = unname(apply(mm, c(1, 2), function(x) if (is.na(x)) -1L else as.integer(x))),
       weights_id = as.integer(names(m$weights)), weights = unname(m$weights),
       bal_names = rownames(s$sum.all),
       smd_all = unname(s$sum.all[, "Std. Mean Diff."]), vr_all = unname(s$sum.all[, "Var. Ratio"]),
       mt_all = unname(s$sum.all[, "Means Treated"]), mc_all = unname(s$sum.all[, "Means Control"]),
       smd_m = unname(s$sum.matched[, "Std. Mean Diff."]),
       vr_m = unname(s$sum.matched[, "Var. Ratio"]),
       mc_m = unname(s$sum.matched[, "Means Control"]))
}
out$match_lung <- list(
  sd_lp = sd_lp,
  nn1 = run_match(),
  cal02 = run_match(caliper = 0.2),
  k2_cal025_smallest = run_match(ratio = 2, caliper = 0.25, order = "smallest"),
  repl_cal01 = run_match(replace = TRUE, caliper = 0.1),
  k2_repl = run_match(ratio = 2, replace = TRUE),
  exact_ecog = run_match(exact = ~ ph_ecog_f, caliper = 0.5),
  k3_data = run_match(ratio = 3, order = "data"))

## ---------------------------------------------------------------- weighted balance
## MatchIt's own balance routine (what summary.matchit calls) with PS weights
bal_w <- function(w, denom) {
  X <- cbind(age = lung2$age, ph_ecog0 = as.numeric(lung2$ph_ecog == 0),
             ph_ecog1 = as.numeric(lung2$ph_ecog == 1), ph_ecog2 = as.numeric(lung2$ph_ecog == 2),
             wt_loss = lung2$wt_loss)
  tt <- as.integer(lung2$sex == "M")
  r <- t(sapply(colnames(X), function(v) MatchIt:::bal1var(X[, v], tt = tt, ww = w,
        s.weights = rep(1, nrow(X)), standardize = TRUE, s.d.denom = denom,
        compute.pair.dist = FALSE)))
  list(mt = unname(r[, 1]), mc = unname(r[, 2]), smd = unname(r[, 3]), vr = unname(r[, 4]))
}
out$balance_lung <- list(ate = bal_w(out$ps_lung$w_ate, "pooled"),
                         ato = bal_w(out$ps_lung$w_ato, "pooled"),
                         att = bal_w(out$ps_lung$w_att, "treated"))
## three groups (colon, ATO weights): pairwise b - a, denominator = sqrt(mean of all groups'
## unweighted variances) -- our stated convention, computed by formula
wv <- function(x, w, bin) { w <- w / sum(w); m <- sum(w * x)
  if (bin) m * (1 - m) else sum(w * (x - m)^2) / (1 - sum(w^2)) }
Xc <- cbind(age = colon2$age, `sex=F` = as.numeric(colon2$sex == "F"),
            `sex=M` = as.numeric(colon2$sex == "M"),
            sapply(1:4, function(k) as.numeric(colon2$extent == k)), nodes = colon2$nodes)
wc <- out$ps_colon$w_ato
smd3 <- c(); vr3 <- c()
for (j in seq_len(ncol(Xc))) {
  x <- Xc[, j]; bin <- all(x %in% c(0, 1))
  sdp <- sqrt(mean(sapply(1:3, function(k) wv(x[zc == k], rep(1, sum(zc == k)), bin))))
  for (a in 1:2) for (b in (a + 1):3) {
    mb <- sum(wc[zc == b] * x[zc == b]) / sum(wc[zc == b])
    ma <- sum(wc[zc == a] * x[zc == a]) / sum(wc[zc == a])
    smd3 <- c(smd3, (mb - ma) / sdp)
    vr3 <- c(vr3, if (bin) NA else wv(x[zc == b], wc[zc == b], FALSE) / wv(x[zc == a], wc[zc == a], FALSE))
  }
}
out$balance_colon_ato <- list(smd = smd3, vr = vr3)

## ---------------------------------------------------------------- weighted curves, Cox
curve_out <- function(fit, states = NULL) {
  s <- summary(fit, censored = TRUE)
  strata <- if (is.null(s$strata)) rep("all", length(s$time)) else as.character(s$strata)
  if (is.null(states)) {
    list(strata = strata, time = s$time, surv = s$surv, std_err = s$std.err,
         lower = s$lower, upper = s$upper, n_risk = s$n.risk)
  } else {
    res <- list(strata = strata, time = s$time, n_risk = s$n.risk[, 1])
    for (k in states) res[[paste0("F", k)]] <- list(
      est = s$pstate[, k + 1], se = s$std.err[, k + 1], lower = s$lower[, k + 1],
      upper = s$upper[, k + 1])
    res
  }
}
lung2$w_ato <- out$ps_lung$w_ato; lung2$w_ate <- out$ps_lung$w_ate
km_l <- survfit(Surv(time, status) ~ sex, data = lung2, weights = w_ato, robust = TRUE, id = id)
cx_l <- coxph(Surv(time, status) ~ sex, data = lung2, weights = w_ate, robust = TRUE)
sx_l <- summary(cx_l)
## g-computation / IPTW absolute risks with riskRegression::ate (Cox outcome model)
lung2$sexf <- factor(lung2$sex, levels = c("F", "M"))
cx_out <- coxph(Surv(time, status) ~ sexf + age + ph_ecog_f + wt_loss, data = lung2, x = TRUE,
                ties = "breslow")
a_g <- ate(cx_out, treatment = "sexf", data = lung2, times = c(180, 365), se = TRUE,
           estimator = "GFORMULA", verbose = FALSE)
mr <- as.data.frame(a_g$meanRisk)
## the same on untied times (lung + uniform(0, 0.01) jitter, seeded): riskRegression's
## influence-function SEs equal the textbook Breslow IF only without tied event times
set.seed(20261130)
lungj <- lung2[, c("id", "time", "status", "sex", "age", "ph_ecog", "wt_loss")]
lungj$time <- lungj$time + round(runif(nrow(lungj), 0, 0.01), 6)
write.csv(lungj, file.path(dat_dir, "adjust_lung_untied.csv"), row.names = FALSE)
lungj <- read.csv(file.path(dat_dir, "adjust_lung_untied.csv"))
stopifnot(!anyDuplicated(lungj$time[lungj$status == 1]))
lungj$sexf <- factor(lungj$sex, levels = c("F", "M")); lungj$ph_ecog_f <- factor(lungj$ph_ecog)
cxj <- coxph(Surv(time, status) ~ sexf + age + ph_ecog_f + wt_loss, data = lungj, x = TRUE,
             ties = "breslow")
a_j <- ate(cxj, treatment = "sexf", data = lungj, times = c(180, 365), se = TRUE,
           estimator = "GFORMULA", verbose = FALSE)
mrj <- as.data.frame(a_j$meanRisk); drj <- as.data.frame(a_j$diffRisk)
out$weighted_lung <- list(
  km_ato = curve_out(km_l),
  km_ato_median = with(quantile(km_l, 0.5), list(median = unname(quantile[, 1]),
                                                  lower = unname(lower[, 1]),
                                                  upper = unname(upper[, 1]))),
  cox_ate = list(coef = unname(coef(cx_l)), se = unname(sqrt(diag(cx_l$naive.var))),
                 robust_se = unname(sqrt(diag(vcov(cx_l)))),
                 robscore = unname(sx_l$robscore["test"]), robscore_df = unname(sx_l$robscore["df"]),
                 wald = unname(sx_l$waldtest["test"])),
  gcomp = list(treatment = as.character(mr$treatment), time = mr$time,
               risk = mr$estimate, se = mr$se),
  gcomp_untied = list(treatment = as.character(mrj$treatment), time = mrj$time,
                      risk = mrj$estimate, se = mrj$se, diff_time = drj$time,
                      diff = drj$estimate, diff_se = drj$se,
                      diff_A = as.character(drj$A), diff_B = as.character(drj$B)))

## bmt: binary MTX, ATE weights; weighted Aalen-Johansen (relapse = 1, death in remission = 2)
bmt2$fab_f <- factor(bmt2$fab); bmt2$disease_f <- factor(bmt2$disease)
gb <- glm(mtx ~ age + donor_age + fab_f + disease_f, family = binomial, data = bmt2,
          control = glm.control(epsilon = 1e-14, maxit = 100))
pb <- unname(fitted(gb)); zb <- bmt2$mtx + 1L
bmt2$w_ate <- wts(cbind(1 - pb, pb), zb, "ATE")
bmt2$w_ato <- wts(cbind(1 - pb, pb), zb, "ATO")
cif_b <- survfit(Surv(time, factor(code)) ~ mtx, data = bmt2, weights = w_ate, id = id)
cif_b_ll <- survfit(Surv(time, factor(code)) ~ mtx, data = bmt2, weights = w_ato, id = id,
                    conf.type = "log-log")
## duplicated ids: every patient split into two rows at half the weight gives the same curve;
## a cluster per id keeps the SE
out$weighted_bmt <- list(p_mtx = pb, w_ate = bmt2$w_ate, cif_ate = curve_out(cif_b, 1:2),
                         cif_ato_loglog = curve_out(cif_b_ll, 1:2))

## colon: three groups, ATO weights; KM of death and weighted Cox with rx, robust score test
colon2$w_ato <- out$ps_colon$w_ato
km_c <- survfit(Surv(os_time, os_status) ~ rx, data = colon2, weights = w_ato, robust = TRUE, id = id)
cx_c <- coxph(Surv(os_time, os_status) ~ rx_f, data = colon2, weights = w_ato, robust = TRUE)
sx_c <- summary(cx_c)
out$weighted_colon <- list(
  km_ato = curve_out(km_c),
  cox_ato = list(coef = unname(coef(cx_c)), robust_se = unname(sqrt(diag(vcov(cx_c)))),
                 robscore = unname(sx_c$robscore["test"]), robscore_df = unname(sx_c$robscore["df"])))

## weighted Fine-Gray: finegray() expansion (censoring KM unweighted, user weights multiplied)
fgd <- bmt2[, c("id", "time", "code", "mtx")]; fgd$w <- bmt2$w_ate
fgd$status <- factor(fgd$code, 0:2, c("cens", "relapse", "death"))
fg <- finegray(Surv(time, status) ~ id + mtx, data = fgd, etype = "relapse", weights = w)
fgfit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ mtx, data = fg, weights = fgwt, cluster = id)
fg1 <- finegray(Surv(time, status) ~ id + mtx, data = fgd, etype = "relapse")
out$finegray_bmt <- list(id = fg1$id, fgstart = fg1$fgstart, fgstop = fg1$fgstop,
                         fgstatus = fg1$fgstatus, fgwt = fg1$fgwt, fgwt_w = fg$fgwt,
                         coef = unname(coef(fgfit)), robust_se = unname(sqrt(diag(vcov(fgfit)))),
                         se = unname(sqrt(diag(fgfit$naive.var))))

## ---------------------------------------------------------------- E-values (by formula)
ev <- function(rr) { rr <- ifelse(rr < 1, 1 / rr, rr); rr + sqrt(rr * (rr - 1)) }
hr2rr <- function(h) (1 - 0.5^sqrt(h)) / (1 - 0.5^sqrt(1 / h))
out$evalue <- list(
  rr = list(est = 3.9, lo = 1.8, hi = 8.7, e_est = ev(3.9), e_ci = ev(1.8)),
  rr_protective = list(est = 0.5, lo = 0.3, hi = 0.8, e_est = ev(0.5), e_ci = ev(0.8)),
  hr_common = list(est = 0.64, lo = 0.49, hi = 0.83, e_est = ev(hr2rr(0.64)), e_ci = ev(hr2rr(0.83))),
  hr_rare = list(est = 1.71, lo = 1.22, hi = 2.41, e_est = ev(1.71), e_ci = ev(1.22)))

## 17 significant digits (jsonlite stops at 15): doubles are written verbatim with %.17g
num17 <- function(x) ifelse(is.na(x), "null", ifelse(is.infinite(x), "null", sprintf("%.17g", x)))
full <- function(x) {
  if (is.list(x)) return(lapply(x, full))
  if (is.matrix(x) && is.double(x)) return(lapply(seq_len(nrow(x)), function(i) full(x[i, ])))
  if (is.double(x)) {
    s <- num17(x)
    return(structure(if (length(x) == 1) s else paste0("[", paste(s, collapse = ","), "]"),
                     class = "json"))
  }
  x
}
out <- full(out)
writeLines(toJSON(out, json_verbatim = TRUE, digits = NA, auto_unbox = TRUE, null = "null", na = "null", matrix = "rowmajor"),
           file.path(ref_dir, "adjust.json"))
