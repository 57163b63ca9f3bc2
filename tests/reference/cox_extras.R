# Reference values for the Cox extras (issue 16): ties = "exact", predictions
# (survfit.coxph / basehaz / predict), residuals, concordance, cox.zph transforms and the
# plot.cox.zph smoothing fit, time-dependent AUC.  R 4.2.2, survival 3.5-3.
# Run from the repository root:  Rscript tests/reference/cox_extras.R
# Reads tests/reference/data/cox_{lung,veteran,ovarian,heart}.csv (written by cox.R), writes
# tests/reference/data/cox_extras_lungm.csv (heavy ties) and tests/reference/cox_extras.json.
suppressPackageStartupMessages(library(survival))
suppressPackageStartupMessages(library(splines))
library(jsonlite)

datadir <- "tests/reference/data"
out <- list()

L <- read.csv(file.path(datadir, "cox_lung.csv"))
L$sex <- factor(L$sex, levels = c("M", "F"))
L$ph_ecog_f <- factor(L$ph_ecog, levels = c(0, 1, 2, 3))
# heavy ties: lung times in whole months (30 days), 10 to 20 tied deaths per month
LM <- read.csv(file.path(datadir, "cox_lung.csv"))
LM$time <- ceiling(LM$time / 30)
write.csv(LM, file.path(datadir, "cox_extras_lungm.csv"), row.names = FALSE)
LM$sex <- factor(LM$sex, levels = c("M", "F"))
V <- read.csv(file.path(datadir, "cox_veteran.csv"))
V$celltype <- relevel(factor(V$celltype), ref = "large")
O <- read.csv(file.path(datadir, "cox_ovarian.csv"))
H <- read.csv(file.path(datadir, "cox_heart.csv"))

u <- function(x) unname(as.vector(x))
mat <- function(m) { m <- as.matrix(m); dimnames(m) <- NULL; m }

fitpart <- function(f) {
  list(coef = u(coef(f)), var = mat(f$var), loglik = u(f$loglik), score = u(f$score),
       wald = u(f$wald.test), iter = f$iter)
}

predpart <- function(f, newdata, strata_in_newdata = TRUE) {
  r <- list(lp = u(predict(f, type = "lp")), risk = u(predict(f, type = "risk")),
            means = u(f$means))
  bh <- basehaz(f, centered = TRUE)
  bu <- basehaz(f, centered = FALSE)
  r$basehaz <- list(time = bh$time, hazard = bh$hazard, hazard_uncentered = bu$hazard,
                    strata = if (is.null(bh$strata)) NULL else as.character(bh$strata))
  sf <- survfit(f, newdata = newdata)   # conf.type "log", stype 2, ctype by ties
  nprof <- nrow(newdata)
  S <- as.matrix(sf$surv); SE <- as.matrix(sf$std.err)
  LO <- as.matrix(sf$lower); UP <- as.matrix(sf$upper); CH <- as.matrix(sf$cumhaz)
  if (is.null(sf$strata)) strat <- rep("", length(sf$time)) else
    strat <- rep(names(sf$strata), sf$strata)
  curves <- list()
  for (k in seq_len(ncol(S))) {
    curves[[k]] <- list(time = sf$time, surv = u(S[, k]), std_err_cumhaz = u(SE[, k]),
                        lower = u(LO[, k]), upper = u(UP[, k]), cumhaz = u(CH[, k]),
                        n_risk = sf$n.risk, n_event = sf$n.event, n_censor = sf$n.censor,
                        strata = strat)
  }
  r$survfit <- curves
  sf0 <- survfit(f)   # default: the fit's means
  r$survfit_means <- list(time = sf0$time, surv = u(sf0$surv), std_err_cumhaz = u(sf0$std.err),
                          lower = u(sf0$lower), upper = u(sf0$upper),
                          strata = if (is.null(sf0$strata)) NULL else
                            rep(names(sf0$strata), sf0$strata))
  r
}

residpart <- function(f, exact = FALSE) {
  r <- list(martingale = u(residuals(f, "martingale")),
            deviance = u(residuals(f, "deviance")))
  if (!exact) {
    r$score <- mat(residuals(f, "score"))
    sch <- as.matrix(residuals(f, "schoenfeld"))
    r$schoenfeld <- mat(sch)
    r$schoenfeld_time <- as.numeric(rownames(sch))
    r$scaledsch <- mat(residuals(f, "scaledsch"))
    r$dfbeta <- mat(residuals(f, "dfbeta"))
    r$dfbetas <- mat(residuals(f, "dfbetas"))
  }
  r
}

concpart <- function(f, data, strata = NULL) {
  cc <- concordance(f)
  r <- list(concordance = cc$concordance, std_err = sqrt(cc$var),
            count = u(if (is.matrix(cc$count)) colSums(cc$count) else cc$count))
  if (is.matrix(cc$count)) {
    r$strata_count <- mat(cc$count)
    # rows of cc$count: levels of the strata factor (concordancefit's ustrat)
    r$strata <- levels(as.factor(strata))[table(as.factor(strata)) > 0]
    # per stratum: concordance() of the fitted linear predictor on that stratum's rows
    lp <- predict(f, type = "lp")
    ys <- f$y
    per <- lapply(r$strata, function(s) {
      keep <- as.character(strata) == s
      y <- ys[keep, ]
      x <- lp[keep]
      w <- if (is.null(f$weights)) NULL else f$weights[keep]
      c2 <- if (is.null(w)) concordance(y ~ x, reverse = TRUE) else
        concordance(y ~ x, weights = w, reverse = TRUE)
      c(c2$concordance, sqrt(c2$var))
    })
    r$strata_concordance <- sapply(per, `[`, 1)
    r$strata_std_err <- sapply(per, `[`, 2)
  }
  r
}

# what plot.cox.zph draws: natural spline (df = 4) fit of the scaled Schoenfeld residuals
# on the (transformed) time, with +- 2 SE
zphsmooth <- function(z, df = 4, nsmo = 40) {
  xx <- z$x; yy <- as.matrix(z$y)
  pred.x <- seq(from = min(xx), to = max(xx), length = nsmo)
  lmat <- ns(c(pred.x, xx), df = df, intercept = TRUE)
  pmat <- lmat[1:nsmo, ]; xmat <- lmat[-(1:nsmo), ]
  res <- list()
  for (i in seq_len(ncol(yy))) {
    y <- yy[, i]; keep <- !is.na(y)
    qmat <- qr(xmat[keep, ])
    yhat <- pmat %*% qr.coef(qmat, y[keep])
    bk <- backsolve(qmat$qr[1:df, 1:df], diag(df))
    xtx <- bk %*% t(bk)
    seval <- ((pmat %*% xtx) * pmat) %*% rep(1, df)
    temp <- 2 * sqrt(z$var[i, i] * seval)
    res[[i]] <- list(x = pred.x, yhat = u(yhat), upper = u(yhat + temp), lower = u(yhat - temp))
  }
  res
}

zphpart <- function(f) {
  r <- list()
  for (tr in c("km", "rank", "identity", "log")) {
    z <- cox.zph(f, transform = tr)
    r[[tr]] <- list(term = rownames(z$table), chisq = u(z$table[, 1]), df = u(z$table[, 2]),
                    p = u(z$table[, 3]), x = u(z$x), time = u(z$time), y = mat(z$y),
                    var = mat(z$var), smooth = zphsmooth(z))
  }
  r
}

# time-dependent AUC, cumulative cases / dynamic controls with inverse probability of
# censoring weights (Uno et al. 2007; the "cumulative/dynamic" AUC of timeROC), written
# here from the definition (timeROC is not installed):
#   cases    i: T_i <= t, event,  weight 1 / G(T_i-)
#   controls j: T_j > t,          weight 1 / G(t)
#   AUC(t) = sum_ij w_i w_j [I(m_i > m_j) + I(m_i = m_j) / 2] / (sum_i w_i sum_j w_j)
# G = Kaplan-Meier of the censoring distribution (censoring as the event), unweighted.
td_auc <- function(time, status, marker, times) {
  gfit <- survfit(Surv(time, 1 - status) ~ 1)
  Gleft <- function(t) {  # G(t-)
    idx <- findInterval(t, gfit$time, left.open = TRUE)
    c(1, gfit$surv)[idx + 1]
  }
  Gat <- function(t) {    # G(t)
    idx <- findInterval(t, gfit$time)
    c(1, gfit$surv)[idx + 1]
  }
  sapply(times, function(t) {
    case <- which(time <= t & status == 1)
    ctrl <- which(time > t)
    wi <- 1 / Gleft(time[case])
    wj <- rep(1 / Gat(t), length(ctrl))
    cmp <- outer(marker[case], marker[ctrl], function(a, b) (a > b) + 0.5 * (a == b))
    sum(outer(wi, wj) * cmp) / (sum(wi) * sum(wj))
  })
}

## ---------------------------------------------------------------- cases
# lung, Efron: age + sex + ph_ecog (factor, reference 0)
nd_lung <- data.frame(age = c(50, 70, 62), sex = factor(c("M", "F", "F"), levels = c("M", "F")),
                      ph_ecog_f = factor(c(0, 1, 2), levels = c(0, 1, 2, 3)))
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog_f, data = L)
out$lung <- c(list(fit = fitpart(f)), predpart(f, nd_lung), list(resid = residpart(f)),
              list(conc = concpart(f, L), zph = zphpart(f),
                   auc_times = c(180, 365, 540),
                   auc = td_auc(L$time, L$event, predict(f, type = "lp"), c(180, 365, 540))))
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog_f, data = L, ties = "breslow")
out$lung_breslow <- c(list(fit = fitpart(f)), predpart(f, nd_lung),
                      list(resid = residpart(f), conc = concpart(f, L)))
# lung, non-integer case weights (R: robust variance by default)
f <- coxph(Surv(time, event) ~ age + sex + ph_ecog_f, data = L, weights = w)
out$lung_w <- c(list(fit = fitpart(f), naive_var = mat(f$naive.var)), predpart(f, nd_lung),
                list(resid = residpart(f), conc = concpart(f, L), zph = zphpart(f)))
# lung, stratified by sex: age + ph_ecog (numeric)
nd_s <- data.frame(age = c(50, 70), ph_ecog = c(0, 2))
nd_s2 <- data.frame(age = c(50, 70), ph_ecog = c(0, 2), sex = c("F", "M"))
f <- coxph(Surv(time, event) ~ age + ph_ecog + strata(sex), data = L)
out$lung_strata <- c(list(fit = fitpart(f)), predpart(f, nd_s),
                     list(resid = residpart(f), conc = concpart(f, L, L$sex), zph = zphpart(f)))
sf <- survfit(f, newdata = nd_s2)
out$lung_strata$survfit_in_strata <- lapply(seq_len(nrow(nd_s2)), function(k) {
  s <- sf[k]
  list(time = s$time, surv = u(s$surv), std_err_cumhaz = u(s$std.err), lower = u(s$lower),
       upper = u(s$upper))
})
out$lung_strata$predict_sample <- u(predict(f, type = "lp", reference = "sample"))
# heavy ties (months): efron, breslow, exact
nd_m <- data.frame(age = c(55, 70), sex = factor(c("M", "F"), levels = c("M", "F")))
for (tt in c("efron", "breslow", "exact")) {
  f <- coxph(Surv(time, event) ~ age + sex, data = LM, ties = tt)
  key <- paste0("lungm_", tt)
  out[[key]] <- c(list(fit = fitpart(f)), list(resid = residpart(f, exact = tt == "exact")))
  out[[key]] <- c(out[[key]], predpart(f, nd_m), list(conc = concpart(f, LM)))
}
f <- coxph(Surv(time, event) ~ age + sex + strata(inst), data = LM, ties = "exact")
out$lungm_exact_strata <- list(fit = fitpart(f), resid = residpart(f, exact = TRUE))
# veteran: trt + karno + age + celltype (reference large); exact too
nd_v <- data.frame(trt = c(1, 2), karno = c(60, 80), age = c(60, 60),
                   celltype = factor(c("squamous", "adeno"), levels = levels(V$celltype)))
f <- coxph(Surv(time, status) ~ trt + karno + age + celltype, data = V)
out$veteran <- c(list(fit = fitpart(f)), predpart(f, nd_v),
                 list(resid = residpart(f), conc = concpart(f, V), zph = zphpart(f),
                      auc_times = c(30, 90, 180),
                      auc = td_auc(V$time, V$status, predict(f, type = "lp"), c(30, 90, 180))))
f <- coxph(Surv(time, status) ~ trt + karno + age + celltype, data = V, ties = "exact")
out$veteran_exact <- list(fit = fitpart(f), resid = residpart(f, exact = TRUE))
# ovarian
nd_o <- data.frame(age = c(50, 65), ecog.ps = c(1, 2), rx = c(1, 2))
f <- coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = O)
out$ovarian <- c(list(fit = fitpart(f)), predpart(f, nd_o),
                 list(resid = residpart(f), conc = concpart(f, O), zph = zphpart(f)))
f <- coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = O, ties = "exact")
out$ovarian_exact <- list(fit = fitpart(f), resid = residpart(f, exact = TRUE))
# heart: (start, stop] counting process
nd_h <- data.frame(age = c(-10, 5), transplant = c(0, 1), surgery = c(0, 1))
f <- coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = H)
out$heart <- c(list(fit = fitpart(f)), predpart(f, nd_h),
               list(resid = residpart(f), conc = concpart(f, H), zph = zphpart(f)))
f <- coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = H, ties = "exact")
out$heart_exact <- list(fit = fitpart(f), resid = residpart(f, exact = TRUE))

# an aliased column (a2 = 2 age: coefficient NA): cox.zph drops it, residuals / concordance
La <- L; La$a2 <- 2 * La$age
f <- coxph(Surv(time, event) ~ age + a2 + sex, data = La)
za <- cox.zph(f)
out$lung_aliased <- list(zph_term = rownames(za$table), zph_chisq = u(za$table[, 1]),
                         zph_y = mat(za$y), martingale = u(residuals(f)),
                         concordance = concordance(f)$concordance)

# jsonlite writes at most 15 significant digits: write every double verbatim with 17
num17 <- function(x) ifelse(is.na(x), "null", sprintf("%.17g", x))
full17 <- function(x) {
  if (is.list(x)) return(lapply(x, full17))
  if (is.matrix(x) && is.double(x))
    return(lapply(seq_len(nrow(x)), function(i) full17(as.vector(x[i, ]))))
  if (is.double(x)) {
    if (length(x) == 1) return(structure(num17(x), class = "json"))
    return(structure(paste0("[", paste(num17(x), collapse = ","), "]"), class = "json"))
  }
  x
}
writeLines(toJSON(full17(out), json_verbatim = TRUE, auto_unbox = TRUE, pretty = FALSE,
                  null = "null"),
           "tests/reference/cox_extras.json")
cat("wrote tests/reference/cox_extras.json\n")
