# Reference values for aplcohort.stats.competing (cmprsk 2.2-11, survival 3.5-3).
# Run from the repository root:  Rscript tests/reference/competing.R
# Writes tests/reference/competing.json and the input CSVs under tests/reference/data/.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
out <- list(versions = list(R = R.version.string,
                            cmprsk = as.character(packageVersion("cmprsk")),
                            survival = as.character(packageVersion("survival"))))
dd <- "tests/reference/data"

## ---- data -------------------------------------------------------------
# survival::mgus2: progression (PCM, cause 1) competing with death (cause 2)
m <- survival::mgus2
m$etime <- ifelse(m$pstat == 0, m$futime, m$ptime)
m$event <- ifelse(m$pstat == 0, 2 * m$death, 1)
m$agegrp <- ifelse(m$age >= 70, "70+", "<70")
mg <- m[, c("id", "etime", "event", "sex", "age", "agegrp")]
mg$sex <- as.character(mg$sex)
write.csv(mg, file.path(dd, "mgus2_competing.csv"), row.names = FALSE)

# simulated cohort with many ties (integer times), three groups, two strata
set.seed(20261120)
n <- 300
sim <- data.frame(id = 1:n,
                  grp = sample(c("A", "B", "C"), n, replace = TRUE),
                  st = sample(c("s1", "s2"), n, replace = TRUE),
                  x1 = round(rnorm(n), 3),
                  x2 = rbinom(n, 1, 0.4),
                  fac = sample(c("lo", "mid", "hi"), n, replace = TRUE),
                  stringsAsFactors = FALSE)
lp <- 0.5 * sim$x1 + 0.7 * sim$x2 + 0.4 * (sim$grp == "B") + 0.3 * (sim$fac == "hi")
t1 <- rexp(n, 0.08 * exp(lp)); t2 <- rexp(n, 0.06); cz <- runif(n, 2, 40)
tt <- pmin(t1, t2, cz)
sim$time <- ceiling(tt)
sim$code <- ifelse(tt == t1, 1, ifelse(tt == t2, 2, 0))
write.csv(sim, file.path(dd, "competing_sim.csv"), row.names = FALSE)

# hand-worked cohort (values also derived by hand in tests/test_competing.py)
hand <- data.frame(time = c(1, 2, 2, 2, 3, 4, 4, 5, 6, 6),
                   code = c(1, 1, 2, 0, 0, 1, 2, 0, 1, 0))
write.csv(hand, file.path(dd, "competing_hand.csv"), row.names = FALSE)

# edge cohort: events and a censoring at time 0, last time a censoring, two groups
edge <- data.frame(time = c(0, 0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 7, 7, 8),
                   code = c(1, 0, 2, 1, 2, 0, 1, 1, 2, 0, 1, 2, 1, 0),
                   x = c(0.5, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0.2, 1, 0, 1),
                   g = c(1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2))
write.csv(edge, file.path(dd, "competing_edge.csv"), row.names = FALSE)

## ---- helpers ----------------------------------------------------------
curves <- function(ci) {
  ci <- ci[names(ci) != "Tests"]
  lapply(names(ci), function(nm) list(name = nm, time = ci[[nm]]$time,
                                      est = ci[[nm]]$est, var = ci[[nm]]$var))
}
tests <- function(ci) {
  tt <- ci$Tests
  list(cause = rownames(tt), stat = unname(tt[, "stat"]), pv = unname(tt[, "pv"]),
       df = unname(tt[, "df"]))
}
tp <- function(ci, times) {
  z <- timepoints(ci, times)
  list(names = rownames(z$est), times = as.numeric(colnames(z$est)),
       est = lapply(seq_len(nrow(z$est)), function(i) unname(z$est[i, ])),
       var = lapply(seq_len(nrow(z$var)), function(i) unname(z$var[i, ])))
}

## ---- cuminc -----------------------------------------------------------
# cuminc(hand$time, hand$code)
ci <- cuminc(hand$time, hand$code)
out$hand <- list(curves = curves(ci), timepoints = tp(ci, c(0, 0.5, 1, 2, 3.5, 6, 7)))

# cuminc(mg$etime, mg$event)   (no groups)
ci <- cuminc(mg$etime, mg$event)
out$mgus_all <- list(curves = curves(ci), timepoints = tp(ci, c(0, 12, 60, 120, 240, 400, 500)))
# cuminc(mg$etime, mg$event, mg$sex, rho = r)   and with strata = mg$agegrp
out$mgus_sex <- list()
for (r in c(0, 1, -0.5)) {
  ci <- cuminc(mg$etime, mg$event, mg$sex, rho = r)
  cis <- cuminc(mg$etime, mg$event, mg$sex, rho = r, strata = mg$agegrp)
  out$mgus_sex[[length(out$mgus_sex) + 1]] <- list(rho = r, tests = tests(ci),
                                                   tests_strata = tests(cis))
}
ci <- cuminc(mg$etime, mg$event, mg$sex)
out$mgus_sex_curves <- list(curves = curves(ci), timepoints = tp(ci, c(0, 12, 60, 120, 240, 400, 500)))

# simulated: cuminc(sim$time, sim$code, sim$grp, rho = r [, strata = sim$st])
out$sim <- list()
for (r in c(0, 1, 0.5)) {
  ci <- cuminc(sim$time, sim$code, sim$grp, rho = r)
  cis <- cuminc(sim$time, sim$code, sim$grp, rho = r, strata = sim$st)
  out$sim[[length(out$sim) + 1]] <- list(rho = r, tests = tests(ci), tests_strata = tests(cis))
}
ci <- cuminc(sim$time, sim$code, sim$grp)
out$sim_curves <- list(curves = curves(ci), timepoints = tp(ci, c(0, 1, 5, 10, 15, 20, 39, 50)))
# pairwise: cuminc on each pair of groups (cause 1), rho = 0
pw <- list()
for (pr in list(c("A", "B"), c("A", "C"), c("B", "C"))) {
  s <- sim$grp %in% pr
  z <- cuminc(sim$time[s], sim$code[s], sim$grp[s])
  pw[[length(pw) + 1]] <- list(g1 = pr[1], g2 = pr[2], stat = unname(z$Tests[1, "stat"]),
                               pv = unname(z$Tests[1, "pv"]))
}
out$sim_pairwise <- pw

# edge: cuminc(edge$time, edge$code, edge$g); crr(edge$time, edge$code, edge$x) below
ci <- cuminc(edge$time, edge$code, edge$g)
out$edge <- list(curves = curves(ci), timepoints = tp(ci, c(0, 1, 2.5, 3, 7, 8, 9)),
                 tests = tests(ci))

## ---- crr --------------------------------------------------------------
crrout <- function(fit, prof) {
  p <- predict(fit, prof)
  list(names = names(fit$coef), coef = unname(fit$coef), var = unname(fit$var),
       loglik = fit$loglik, loglik_null = fit$loglik.null, converged = fit$converged,
       uftime = fit$uftime, bfitj = fit$bfitj,
       profiles = unname(prof), predict_time = unname(p[, 1]),
       predict = lapply(2:ncol(p), function(j) unname(p[, j])))
}
# crr(mg$etime, mg$event, cbind(age, male), failcode = 1)  and failcode = 2
X <- cbind(age = mg$age, sexM = as.numeric(mg$sex == "M"))
prof <- rbind(c(60, 0), c(75, 1), c(85, 0))
out$crr_mgus1 <- crrout(crr(mg$etime, mg$event, X, failcode = 1), prof)
out$crr_mgus2 <- crrout(crr(mg$etime, mg$event, X, failcode = 2), prof)
# simulated with a 3-level factor (reference "lo") and the group factor (reference "A")
sim$fac <- factor(sim$fac, levels = c("lo", "mid", "hi"))
sim$grpf <- factor(sim$grp, levels = c("A", "B", "C"))
Xs <- model.matrix(~ x1 + x2 + fac + grpf, data = sim)[, -1]
colnames(Xs) <- c("x1", "x2", "facmid", "fachi", "grpB", "grpC")
profs <- rbind(c(0, 0, 0, 0, 0, 0), c(1, 1, 0, 1, 1, 0))
out$crr_edge <- crrout(crr(edge$time, edge$code, cbind(x = edge$x)), rbind(0, 1))
out$crr_sim <- crrout(crr(sim$time, sim$code, Xs, failcode = 1), profs)
out$crr_sim2 <- crrout(crr(sim$time, sim$code, Xs, failcode = 2), profs)

## ---- cause-specific Cox -----------------------------------------------
# coxph(Surv(etime, event == 1) ~ age + sex, data = mg)   (Efron ties)
csc <- function(fit) list(names = names(coef(fit)), coef = unname(coef(fit)),
                          var = unname(vcov(fit)), loglik = fit$loglik)
out$cs_mgus1 <- csc(coxph(Surv(etime, event == 1) ~ age + sex, data = mg))
out$cs_mgus2 <- csc(coxph(Surv(etime, event == 2) ~ age + sex, data = mg))
out$cs_sim1 <- csc(coxph(Surv(time, code == 1) ~ x1 + x2 + fac, data = sim))

writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = FALSE),
           "tests/reference/competing.json")
cat("wrote tests/reference/competing.json\n")
