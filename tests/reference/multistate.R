# Reference values for aplcohort.multistate (survival 3.5-3 multi-state survfit and coxph).
# Run from the repository root:  Rscript tests/reference/multistate.R
# Writes tests/reference/multistate.json and the input data as
# tests/reference/data/multistate_*.csv.  The Min 2022 replica transitions
# (tests/reference/data/multistate_min2022_transitions.csv) are exported by Python
# (aplcohort.multistate.build_transitions, see tests/test_multistate_reference.py)
# and read here.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
out <- list(versions = list(R = R.version.string,
                            survival = as.character(packageVersion("survival"))))
dd <- "tests/reference/data"

# the state each row starts in: the initial state, then the previous row's event
from_state <- function(d, initial) {
  d <- d[order(d$id, d$tstart), ]
  fr <- character(nrow(d))
  cur <- NA_character_; last_id <- NA
  for (i in seq_len(nrow(d))) {
    if (is.na(last_id) || d$id[i] != last_id) cur <- initial
    fr[i] <- cur
    if (d$to_state[i] != "censor") cur <- d$to_state[i]
    last_id <- d$id[i]
  }
  d$from_state <- fr
  d
}

# survfit multi-state fit -> list (full precision); tau for rmean; influence for se(rmean)
aj <- function(formula, data, tau) {
  fit <- survfit(formula, data = data, id = id, istate = istate, influence = TRUE)
  ngrp <- max(1, length(fit$strata))
  grp <- if (ngrp > 1) rep(names(fit$strata), fit$strata) else rep("all", length(fit$time))
  tab <- summary(fit, rmean = tau)$table
  # se(rmean): infinitesimal jackknife of the integral, from influence.pstate
  # (array id x (1 + time) x state; first time slice = influence on p0), time 0 = start
  infl <- fit$influence.pstate
  if (!is.list(infl)) infl <- list(infl)
  se_rmean <- list()
  for (g in seq_len(ngrp)) {
    tt <- fit$time[grp == unique(grp)[g]]
    tt0 <- c(0, tt)
    keep <- tt0 < tau
    delta <- diff(c(tt0[keep], tau))
    A <- infl[[g]][, which(keep), , drop = FALSE]
    itemp <- apply(A, c(1, 3), function(x) sum(x * delta))
    se_rmean[[g]] <- sqrt(colSums(itemp^2))
  }
  list(states = fit$states, group = grp, time = fit$time,
       pstate = unname(fit$pstate), std_err = unname(fit$std.err),
       lower = unname(fit$lower), upper = unname(fit$upper),
       n_risk = unname(fit$n.risk), n_event = unname(fit$n.event),
       n_censor = unname(fit$n.censor), tau = tau,
       rmean_rows = rownames(tab), rmean = unname(tab[, "rmean"]),
       se_rmean = unname(do.call(rbind, se_rmean)))
}

cox_ms <- function(fit) {
  list(term = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(sqrt(diag(fit$naive.var))), robust_se = unname(sqrt(diag(fit$var))),
       loglik = unname(fit$loglik), cmap = fit$cmap, states = fit$states)
}

## ---- mgus2: PCM competing with death (right censored) ---------------------------
m <- survival::mgus2
m$etime <- ifelse(m$pstat == 0, m$futime, m$ptime)
ev <- ifelse(m$pstat == 0, 2 * m$death, 1)
m$to_state <- c("censor", "pcm", "death")[ev + 1]
stopifnot(min(m$etime) > 0)
mg <- data.frame(id = m$id, tstart = 0, tstop = m$etime, to_state = m$to_state,
                 sex = as.character(m$sex), age = m$age, stringsAsFactors = FALSE)
mg <- from_state(mg, "entry")
write.csv(mg, file.path(dd, "multistate_mgus2_cr.csv"), row.names = FALSE)
mg$event <- factor(mg$to_state, c("censor", "pcm", "death"))
mg$istate <- factor(mg$from_state, c("entry", "pcm", "death"))
out$mgus2_cr <- aj(Surv(tstart, tstop, event) ~ sex, mg, 240)
# R's documented right-censored form gives the same occupancy probabilities
f2 <- survfit(Surv(etime, factor(ev, 0:2, c("censor", "pcm", "death"))) ~ sex, data = m)
stopifnot(max(abs(f2$pstate - out$mgus2_cr$pstate)) < 1e-12)

## ---- mgus2: illness-death (entry -> pcm -> death, entry -> death) with tmerge -----
ptemp <- with(m, ifelse(ptime == futime & pstat == 1, ptime - .1, ptime))
nd <- tmerge(m[, c("id", "age", "sex")], m, id = id, death = event(futime, death),
             pcm = event(ptemp, pstat))
nd$to_state <- ifelse(nd$death == 1, "death", ifelse(nd$pcm == 1, "pcm", "censor"))
id3 <- data.frame(id = nd$id, tstart = nd$tstart, tstop = nd$tstop, to_state = nd$to_state,
                  sex = as.character(nd$sex), age = nd$age, stringsAsFactors = FALSE)
id3 <- from_state(id3, "entry")
write.csv(id3, file.path(dd, "multistate_mgus2_illness_death.csv"), row.names = FALSE)
id3$event <- factor(id3$to_state, c("censor", "pcm", "death"))
id3$istate <- factor(id3$from_state, c("entry", "pcm", "death"))
out$mgus2_id <- aj(Surv(tstart, tstop, event) ~ sex, id3, 300)
out$mgus2_id_all <- aj(Surv(tstart, tstop, event) ~ 1, id3, 300)
cf <- coxph(Surv(tstart, tstop, event) ~ age + sex, data = id3, id = id, istate = istate)
out$mgus2_id_cox <- cox_ms(cf)
# shared age effect on both transitions out of entry (1:2 and 1:3), separate sex effects
cf2 <- coxph(list(Surv(tstart, tstop, event) ~ sex, 1:2 + 1:3 ~ age / common,
                  1:3 + 2:3 ~ 1), data = id3, id = id, istate = istate)
out$mgus2_id_cox_shared <- cox_ms(cf2)

## ---- myeloid (survival vignette): CR, SCT, relapse, death ------------------------
tdata <- myeloid
tied <- with(tdata, (!is.na(crtime) & !is.na(txtime) & crtime == txtime))
tdata$crtime[tied] <- tdata$crtime[tied] - 1
md <- tmerge(tdata[, 1:4], tdata, id = id, death = event(futime, death),
             sct = event(txtime), cr = event(crtime), relapse = event(rltime))
temp <- with(md, cr + 2 * sct + 4 * relapse + 8 * death)
stopifnot(all(temp %in% c(0, 1, 2, 4, 8)))
md$to_state <- as.character(factor(temp, c(0, 1, 2, 4, 8),
                                   c("censor", "CR", "SCT", "relapse", "death")))
my <- data.frame(id = md$id, tstart = md$tstart, tstop = md$tstop, to_state = md$to_state,
                 trt = as.character(md$trt), sex = as.character(md$sex),
                 stringsAsFactors = FALSE)
my <- from_state(my, "entry")
write.csv(my, file.path(dd, "multistate_myeloid.csv"), row.names = FALSE)
my$event <- factor(my$to_state, c("censor", "CR", "SCT", "relapse", "death"))
my$istate <- factor(my$from_state, c("entry", "CR", "SCT", "relapse", "death"))
sc <- survcheck(Surv(tstart, tstop, event) ~ 1, data = my, id = id, istate = istate)
out$myeloid_transitions <- list(from = rownames(sc$transitions), to = colnames(sc$transitions),
                                n = unname(unclass(sc$transitions)))
out$myeloid <- aj(Surv(tstart, tstop, event) ~ trt, my, 1000)
cm <- coxph(Surv(tstart, tstop, event) ~ trt + sex, data = my, id = id, istate = istate)
out$myeloid_cox <- cox_ms(cm)

## ---- left truncation: myeloid entering the risk set at day 30 ----------------------
lt <- my[my$tstop > 30, ]
lt$tstart <- pmax(lt$tstart, 30)
out$myeloid_lt <- aj(Surv(tstart, tstop, event) ~ 1, lt, 1000)
out$myeloid_lt$n_rows <- nrow(lt)

## ---- survcheck on rows with every kind of problem ----------------------------------
sc_d <- data.frame(id = c(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 7, 8, 8),
                   tstart = c(0, 4, 0, 6, 0, 3, 0, 3, 0, 2, 0, 0, 0, 0, 5),
                   tstop = c(5, 9, 5, 8, 3, 7, 3, 7, 2, 4, 5, 4, 4, 2, 9),
                   to_state = c("relapse", "censor", "censor", "death", "censor", "death",
                                "relapse", "censor", "death", "censor", "death", "censor",
                                "censor", "relapse", "death"),
                   from_state = c("CR", "relapse", "CR", "CR", "CR", "relapse", "CR", "CR",
                                  "CR", "death", "CR", "CR", "CR", "CR", "CR"),
                   stringsAsFactors = FALSE)
write.csv(sc_d, file.path(dd, "multistate_survcheck.csv"), row.names = FALSE)
sc_d$event <- factor(sc_d$to_state, c("censor", "relapse", "death"))
sc_d$istate <- factor(sc_d$from_state, c("CR", "relapse", "death"))
sc <- survcheck(Surv(tstart, tstop, event) ~ 1, data = sc_d, id = id, istate = istate)
rows_of <- function(x) if (is.null(x)) integer(0) else as.integer(x$row)
out$survcheck <- list(flag = as.list(sc$flag), overlap = rows_of(sc$overlap),
                      gap = rows_of(sc$gap), jump = rows_of(sc$jump),
                      teleport = rows_of(sc$teleport), duplicate = rows_of(sc$duplicate))

## ---- Min 2022 replica (transitions exported by Python) ---------------------------
mp <- file.path(dd, "multistate_min2022_transitions.csv")
if (file.exists(mp)) {
  tr <- read.csv(mp, stringsAsFactors = FALSE)
  tr$to_state[is.na(tr$to_state) | tr$to_state == ""] <- "censor"
  st <- unique(c("relapse1", tr$from_state, tr$to_state[tr$to_state != "censor"]))
  tr$event <- factor(tr$to_state, c("censor", setdiff(st, "relapse1")))
  tr$istate <- factor(tr$from_state, st)
  out$min2022 <- aj(Surv(tstart, tstop, event) ~ 1, tr, 1826)
  out$min2022$all_states <- st
  # CLFS: alive in remission = CR2 + post-remission states + CR3 (sum of pstate, IJ SE)
  fit <- survfit(Surv(tstart, tstop, event) ~ 1, data = tr, id = id, istate = istate,
                 influence = TRUE)
  rem <- which(fit$states %in% c("CR2", "ATO-based", "auto HSCT", "allo HSCT", "CR3"))
  p <- rowSums(fit$pstate[, rem, drop = FALSE])
  I <- fit$influence.pstate  # id x (1 + time) x state
  isum <- apply(I[, -1, rem, drop = FALSE], c(1, 2), sum)
  out$min2022_clfs <- list(states = fit$states[rem], time = fit$time, estimate = p,
                           std_err = sqrt(colSums(isum^2)))
  # per-transition Cox with age on the transitions with >= 5 events (CR3 from the
  # replica's cr3_date since generator 3.0.0: salvage -> CR3 is a real waiting time)
  tr$age <- tr$age_at_diagnosis
  cox_tr <- list(c("relapse1", "CR2"), c("relapse1", "death"), c("CR2", "ATO-based"),
                 c("CR2", "auto HSCT"), c("CR2", "allo HSCT"), c("ATO-based", "relapse2"),
                 c("auto HSCT", "relapse2"), c("relapse2", "salvage other"),
                 c("relapse2", "salvage allo HSCT"), c("salvage allo HSCT", "CR3"))
  lhs <- paste(sapply(cox_tr, function(x) paste0('"', x[1], '":"', x[2], '"')),
               collapse = " + ")
  fl <- list(Surv(tstart, tstop, event) ~ 1, as.formula(paste(lhs, "~ age")))
  cm2 <- coxph(fl, data = tr, id = id, istate = istate)
  out$min2022_cox <- cox_ms(cm2)
  out$min2022_cox$transitions <- cox_tr
}

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE, matrix = "rowmajor"),
           "tests/reference/multistate.json")
cat("wrote tests/reference/multistate.json\n")
