# Reference values for the competing-risks extras (issue 16): alternative CIF variances,
# CIF after the last follow-up, Fine-Gray with cov2/tf, cengroup and predict.crr, and the
# Fine-Gray model on (start, stop] data by survival::finegray() weights + weighted coxph.
# Run from the repository root:  Rscript tests/reference/competing_extras.R
# Reads tests/reference/data/{mgus2_competing,competing_sim}.csv (written by competing.R),
# writes tests/reference/data/competing_extras_*.csv and tests/reference/competing_extras.json.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(etm)
                                library(KMsurv); library(jsonlite)})
out <- list(versions = list(R = R.version.string,
                            cmprsk = as.character(packageVersion("cmprsk")),
                            survival = as.character(packageVersion("survival")),
                            etm = as.character(packageVersion("etm"))))
dd <- "tests/reference/data"
mg <- read.csv(file.path(dd, "mgus2_competing.csv"), stringsAsFactors = FALSE)
sim <- read.csv(file.path(dd, "competing_sim.csv"), stringsAsFactors = FALSE)

## ---- 1. CIF variances ---------------------------------------------------
# (a) etm (Greenwood-type / delta-method covariance of the Aalen-Johansen matrix):
#     etm(..., covariance = TRUE)$cov["0 k", "0 k", ]
# (b) survfit multi-state Aalen-Johansen std.err (infinitesimal jackknife)
# (c) Aalen-type (Poisson) covariance of the Nelson-Aalen increments, propagated by the same
#     Aalen-Johansen recursion as etm's (Andersen et al. 1993, eq. IV.4.20; the var.type =
#     "aalen" of etm < 1.0). etm 1.1 offers only the Greenwood type, so (c) is computed here
#     by a direct matrix recursion written for this script (not by aplcohort's code).
aj_aalen <- function(time, code) {
  ut <- sort(unique(time[code > 0])); K <- max(code)
  p <- c(1, rep(0, K)); C <- matrix(0, K + 1, K + 1)
  res <- matrix(NA, length(ut), 2 * K)
  for (i in seq_along(ut)) {
    u <- ut[i]; Y <- sum(time >= u)
    dN <- sapply(1:K, function(k) sum(time == u & code == k))
    dA <- matrix(0, K + 1, K + 1); dA[1, 2:(K + 1)] <- dN / Y; dA[1, 1] <- -sum(dN) / Y
    # covariance of the row (dA_00, dA_01, ..., dA_0K), Aalen type: cov(dA_0j, dA_0j') = delta dN_j / Y^2
    S <- diag(c(0, dN / Y^2), K + 1)
    S[1, 1] <- sum(dN) / Y^2
    S[1, 2:(K + 1)] <- S[2:(K + 1), 1] <- -dN / Y^2
    B <- diag(K + 1) + dA
    C <- t(B) %*% C %*% B + p[1]^2 * S
    p <- as.vector(p %*% B)
    res[i, ] <- c(p[2:(K + 1)], sqrt(pmax(diag(C)[2:(K + 1)], 0)))
  }
  list(time = ut, est = res[, 1:K, drop = FALSE], se = res[, K + 1:K, drop = FALSE])
}
cif_ref <- function(time, code) {
  K <- max(code)
  # etm
  d <- data.frame(id = seq_along(time), from = 0, to = ifelse(code == 0, "cens", code), time = time)
  tra <- matrix(FALSE, K + 1, K + 1); tra[1, 2:(K + 1)] <- TRUE
  e <- etm(d, as.character(0:K), tra, "cens", s = 0)
  et <- e$time
  eg <- lapply(1:K, function(k) list(est = unname(e$est["0", as.character(k), ]),
                                     se = unname(sqrt(e$cov[paste("0", k), paste("0", k), ]))))
  # survfit IJ
  sf <- survfit(Surv(time, factor(code, 0:K)) ~ 1)
  ne <- as.matrix(sf$n.event); keep <- rowSums(ne) > 0
  st <- sf$time[keep]
  ij <- lapply(1:K, function(k) list(est = unname(sf$pstate[keep, k + 1]),
                                     se = unname(sf$std.err[keep, k + 1])))
  aa <- aj_aalen(time, code)
  al <- lapply(1:K, function(k) list(est = aa$est[, k], se = aa$se[, k]))
  list(greenwood = list(time = et, cause = eg), ij = list(time = st, cause = ij),
       aalen = list(time = aa$time, cause = al))
}
out$cif_var <- list(
  mgus2 = cif_ref(mg$etime, mg$event),
  mgus2_F = cif_ref(mg$etime[mg$sex == "F"], mg$event[mg$sex == "F"]),
  sim_A = cif_ref(sim$time[sim$grp == "A"], sim$code[sim$grp == "A"]),
  sim = cif_ref(sim$time, sim$code))

## ---- 2. CIF after the last follow-up --------------------------------------
sfm <- survfit(Surv(etime, factor(event, 0:2)) ~ sex, data = mg)
tx <- c(100, 300, 424, 425, 500)   # max follow-up: F 424? (see json) - beyond it extend carries forward
sx <- summary(sfm, times = tx, extend = TRUE)
out$extend <- list(times = sx$time, strata = as.character(sx$strata),
                   pstate1 = unname(sx$pstate[, 2]), pstate2 = unname(sx$pstate[, 3]),
                   maxtime = tapply(mg$etime, mg$sex, max))
ci <- cuminc(mg$etime, mg$event, mg$sex)
tp <- timepoints(ci, tx)
out$extend$timepoints_est <- lapply(as.data.frame(t(tp$est)), unname)
out$extend$timepoints_rows <- rownames(tp$est)

## ---- 3. crr with cov2 / tf, cengroup, predict.crr -------------------------
set.seed(20261201)
n <- 250
cs <- data.frame(id = 1:n, x1 = round(rnorm(n), 3), x2 = rbinom(n, 1, 0.5),
                 cg = sample(c("a", "b"), n, replace = TRUE))
lp <- 0.6 * cs$x1 + 0.5 * cs$x2
t1 <- rexp(n, 0.10 * exp(lp)); t2 <- rexp(n, 0.07)
cz <- ifelse(cs$cg == "a", runif(n, 1, 20), runif(n, 5, 40))
tt <- pmin(t1, t2, cz)
cs$time <- ceiling(tt * 2) / 2        # ties on half units
cs$code <- ifelse(tt == t1, 1, ifelse(tt == t2, 2, 0))
write.csv(cs, file.path(dd, "competing_extras_crr.csv"), row.names = FALSE)
cov1 <- cbind(x1 = cs$x1, x2 = cs$x2)
prof1 <- rbind(c(0, 0), c(1, 1)); prof2 <- rbind(0.5, -1)
crr_out <- function(f, p1 = NULL, p2 = NULL) {
  r <- list(coef = unname(f$coef), var = unname(f$var), loglik = f$loglik,
            loglik_null = f$loglik.null, uftime = f$uftime, bfitj = f$bfitj,
            converged = f$converged)
  if (!is.null(p1)) {
    pr <- if (is.null(p2)) predict(f, cov1 = p1) else predict(f, cov1 = p1, cov2 = p2)
    r$predict <- unname(pr[, -1, drop = FALSE])
  }
  r
}
tf_log <- function(u) log(u)
tf_id <- function(u) u
tf_step <- function(u) as.numeric(u >= 5)
out$crr <- list(
  log = crr_out(crr(cs$time, cs$code, cov1, cbind(x1 = cs$x1), tf_log), prof1, prof2),
  identity = crr_out(crr(cs$time, cs$code, cov1, cbind(x2 = cs$x2), tf_id), prof1, rbind(1, 0)),
  step = crr_out(crr(cs$time, cs$code, cov1, cbind(x2 = cs$x2), tf_step), prof1, rbind(1, 0)),
  cengroup = crr_out(crr(cs$time, cs$code, cov1, cengroup = cs$cg), prof1),
  cengroup_log = crr_out(crr(cs$time, cs$code, cov1, cbind(x1 = cs$x1), tf_log,
                             cengroup = cs$cg), prof1, prof2),
  cause2_cengroup = crr_out(crr(cs$time, cs$code, cov1, cengroup = cs$cg, failcode = 2), prof1),
  plain = crr_out(crr(cs$time, cs$code, cov1), prof1))
# cov2 without cov1; predict.crr with one cov2 profile (several profiles error in R itself)
f2o <- crr(cs$time, cs$code, cov2 = cbind(x1 = cs$x1), tf = tf_log)
out$crr$cov2_only <- crr_out(f2o)
out$crr$cov2_only$predict <- unname(predict(f2o, cov2 = 0.5)[, 2])

## ---- 4. Fine-Gray on (start, stop] data: finegray() + weighted coxph ------
# KMsurv::bmt: relapse (1) vs death in remission (2) after transplant; acute GVHD as a
# time-dependent exposure (tdc at ta when da == 1), built with tmerge.
data(bmt)
b <- bmt; b$id <- seq_len(nrow(b))
b$status <- with(b, ifelse(d2 == 1, 1, ifelse(d1 == 1, 2, 0)))
b$agvhd <- ifelse(b$da == 1, b$ta, NA)
write.csv(b[, c("id", "group", "z1", "t2", "status", "agvhd")],
          file.path(dd, "competing_extras_bmt.csv"), row.names = FALSE)
td <- tmerge(b[, c("id", "group", "z1")], b, id = id, ev = event(t2, status), gvhd = tdc(agvhd))
td$evf <- factor(td$ev, 0:2, c("censor", "relapse", "death"))
write.csv(td[, c("id", "group", "z1", "tstart", "tstop", "ev", "gvhd")],
          file.path(dd, "competing_extras_bmt_td.csv"), row.names = FALSE)
fgd <- function(et) finegray(Surv(tstart, tstop, evf) ~ gvhd + z1 + group + id, data = td,
                             id = id, etype = et)
fg <- fgd("relapse")
fg2 <- fgd("death")
fgw <- function(fg) list(id = fg$id, fgstart = fg$fgstart, fgstop = fg$fgstop,
                         fgstatus = fg$fgstatus, fgwt = fg$fgwt)
cx <- function(fit) list(coef = unname(coef(fit)), var = unname(fit$var),
                         naive_var = if (is.null(fit$naive.var)) NULL else unname(fit$naive.var),
                         loglik = fit$loglik)
f1 <- coxph(Surv(fgstart, fgstop, fgstatus) ~ gvhd + z1 + factor(group), weights = fgwt, data = fg)
f1c <- coxph(Surv(fgstart, fgstop, fgstatus) ~ gvhd + z1 + factor(group), weights = fgwt,
             data = fg, cluster = id)
f1b <- coxph(Surv(fgstart, fgstop, fgstatus) ~ gvhd + z1 + factor(group), weights = fgwt,
             data = fg, ties = "breslow")
f2 <- coxph(Surv(fgstart, fgstop, fgstatus) ~ gvhd + z1, weights = fgwt, data = fg2)
# right-censored data (mgus2, as the survival vignette "compete")
mg$evf <- factor(mg$event, 0:2, c("censor", "pcm", "death"))
fgm <- finegray(Surv(etime, evf) ~ sex + age + id, data = mg, etype = "pcm")
fm <- coxph(Surv(fgstart, fgstop, fgstatus) ~ sex + age, weights = fgwt, data = fgm)
out$td_finegray <- list(fg_relapse = fgw(fg), fg_death = fgw(fg2), relapse = cx(f1),
                        relapse_cluster = cx(f1c), relapse_breslow = cx(f1b), death = cx(f2),
                        mgus2_fg = fgw(fgm), mgus2 = cx(fm))

writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, null = "null", pretty = FALSE),
           "tests/reference/competing_extras.json")
