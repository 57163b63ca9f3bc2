## Reference values for aplcohort.stats.km / aplcohort.stats.logrank.
## Run from the repository root:  Rscript tests/reference/km_logrank.R
## Writes tests/reference/km_logrank.json and the input data under tests/reference/data/.
## R 4.2.2, survival 3.5-3, jsonlite.
suppressMessages({library(survival); library(jsonlite)})
ref_dir <- file.path("tests", "reference")
dat_dir <- file.path(ref_dir, "data")
dir.create(dat_dir, showWarnings = FALSE, recursive = TRUE)
srt <- function(x) sort(unique(x), method = "radix")   # C-locale order, as Python sorted()

## ---------------------------------------------------------------- datasets
hand <- data.frame(
  time   = c(1, 2, 2, 2, 3, 4, 5,   2, 3, 3, 4, 6, 6),
  status = c(1, 1, 1, 0, 0, 1, 0,   1, 1, 0, 1, 1, 0),
  group  = c(rep("A", 7), rep("B", 6)))
aml2 <- data.frame(time = aml$time, status = aml$status, group = as.character(aml$x))
lung2 <- data.frame(time = lung$time, status = lung$status - 1, sex = lung$sex,
                    ph_ecog = lung$ph.ecog)
set.seed(20261121)
lung2$w <- round(runif(nrow(lung2), 0.5, 2), 3)          # non-integer case weights
aml2$w <- rep(c(1, 2, 3), length.out = nrow(aml2))       # integer case weights
aml2$w2 <- rep(c(0.5, 1.25, 2), length.out = nrow(aml2)) # non-integer case weights
veteran2 <- data.frame(time = veteran$time, status = veteran$status, trt = veteran$trt,
                       celltype = as.character(veteran$celltype), karno = veteran$karno)
heart2 <- data.frame(id = heart$id, start = heart$start, stop = heart$stop,
                     event = heart$event, transplant = as.integer(as.character(heart$transplant)))
heart2$w <- 0.5 + (heart2$id %% 7) / 5                    # non-integer, constant within id
write.csv(hand, file.path(dat_dir, "km_hand.csv"), row.names = FALSE)
write.csv(aml2, file.path(dat_dir, "km_aml.csv"), row.names = FALSE)
write.csv(lung2, file.path(dat_dir, "km_lung.csv"), row.names = FALSE, na = "")
write.csv(veteran2, file.path(dat_dir, "km_veteran.csv"), row.names = FALSE)
write.csv(heart2, file.path(dat_dir, "km_heart.csv"), row.names = FALSE)
## re-read so that R works on exactly the CSV values the Python tests use
hand <- read.csv(file.path(dat_dir, "km_hand.csv"))
aml2 <- read.csv(file.path(dat_dir, "km_aml.csv"))
lung2 <- read.csv(file.path(dat_dir, "km_lung.csv"))
veteran2 <- read.csv(file.path(dat_dir, "km_veteran.csv"))
heart2 <- read.csv(file.path(dat_dir, "km_heart.csv"))
datasets <- list(hand = hand, aml = aml2, lung = lung2, veteran = veteran2, heart = heart2)

## ---------------------------------------------------------------- helpers
strata_labels <- function(fit, n) {
  if (is.null(fit$strata)) return(rep("all", n))
  lab <- sub("^[^=]*=", "", names(fit$strata))
  rep(lab, fit$strata)
}
lab_of <- function(s) if (is.null(s)) "all" else sub("^[^=]*=", "", as.character(s))

km_case <- function(name, data, group = NULL, entry = NULL, weights = NULL,
                    conf_type = "log", conf_level = 0.95, times, taus,
                    robust = NULL, probs = c(0.25, 0.5, 0.75)) {
  d <- data
  if (!is.null(group)) { d <- d[!is.na(d[[group]]), ]; d$g <- factor(d[[group]], levels = srt(d[[group]])) }
  lhs <- if (is.null(entry)) "Surv(time, status)" else "Surv(start, stop, event)"
  f <- as.formula(paste(lhs, if (is.null(group)) "~ 1" else "~ g"))
  args <- list(formula = f, data = d, conf.type = conf_type, conf.int = conf_level)
  if (!is.null(weights)) args$weights <- d[[weights]]
  if (!is.null(robust)) args$robust <- robust
  fit <- do.call(survfit, args)
  ## every survfit row (censoring-only times included)
  s <- summary(fit, censored = TRUE)
  rows <- list(group = lab_of(s$strata), time = s$time, n_risk = s$n.risk,
               n_event = s$n.event, n_censor = s$n.censor, surv = s$surv,
               std_err = s$std.err, lower = s$lower, upper = s$upper)
  if (is.null(s$strata)) rows$group <- rep("all", length(s$time))
  q <- quantile(fit, probs = probs)
  qm <- function(m) { m <- as.matrix(m); if (ncol(m) == 1 && length(probs) > 1) t(m) else m }
  glabs <- if (is.null(fit$strata)) "all" else sub("^[^=]*=", "", names(fit$strata))
  quant <- list(group = glabs, probs = probs, quantile = unname(qm(q$quantile)),
                lower = unname(qm(q$lower)), upper = unname(qm(q$upper)))
  tab <- summary(fit)$table
  tab <- if (is.matrix(tab)) tab else matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  table <- list(group = glabs, records = unname(tab[, "records"]), events = unname(tab[, "events"]),
                median = unname(tab[, "median"]),
                lcl = unname(tab[, grep("LCL", colnames(tab))]),
                ucl = unname(tab[, grep("UCL", colnames(tab))]))
  at <- function(extend) {
    st <- summary(fit, times = times, extend = extend)
    g <- if (is.null(st$strata)) rep("all", length(st$time)) else lab_of(st$strata)
    list(group = g, time = st$time, n_risk = st$n.risk, n_event = st$n.event,
         n_censor = st$n.censor, surv = st$surv, std_err = st$std.err,
         lower = st$lower, upper = st$upper)
  }
  rm <- lapply(taus, function(tau) {
    m <- survival:::survmean(fit, rmean = tau)$matrix      # what print(fit, rmean = tau) shows
    m <- if (is.matrix(m)) m else matrix(m, nrow = 1, dimnames = list(NULL, names(m)))
    list(tau = tau, group = glabs, rmean = unname(m[, "rmean"]), se = unname(m[, "se(rmean)"]))
  })
  list(name = name, dataset = NULL, group = group, entry = entry, weights = weights,
       robust = robust, conf_type = conf_type, conf_level = conf_level, times = times, rows = rows,
       quantiles = quant, table = table, at = at(FALSE), at_extend = at(TRUE), rmean = rm)
}

km_cases <- list()
add_km <- function(ds, ...) { z <- km_case(data = datasets[[ds]], ...); z$dataset <- ds; km_cases[[length(km_cases) + 1]] <<- z }
for (ct in c("log", "plain", "log-log")) {
  add_km("hand", name = paste0("hand_", ct), group = "group", conf_type = ct,
         times = c(0, 1, 1.5, 2, 3, 4, 5, 6, 7, 10), taus = c(3.5, 5, 6))
  add_km("aml", name = paste0("aml_", ct), group = "group", conf_type = ct,
         times = c(0, 10, 20, 30, 50, 100, 200), taus = c(40, 100))
  add_km("lung", name = paste0("lung_", ct), group = "sex", conf_type = ct,
         times = c(0, 180, 365, 730, 1100), taus = c(365, 730))
}
add_km("aml", name = "aml_pooled_loglog90", conf_type = "log-log", conf_level = 0.90,
       times = c(0, 10, 20, 30, 50, 100, 200), taus = c(40, 100))
add_km("lung", name = "lung_pooled_plain80", conf_type = "plain", conf_level = 0.80,
       times = c(0, 180, 365, 730, 1100), taus = c(365, 730))
add_km("veteran", name = "veteran_celltype_log", group = "celltype",
       times = c(0, 30, 90, 180, 365, 1000), taus = c(180, 365))
add_km("heart", name = "heart_transplant_log", group = "transplant", entry = "start",
       times = c(0, 30, 100, 365, 1000, 2000), taus = c(365, 1000))
add_km("heart", name = "heart_pooled_loglog", entry = "start", conf_type = "log-log",
       times = c(0, 30, 100, 365, 1000, 2000), taus = c(365, 1000))
add_km("aml", name = "aml_intweights_log", group = "group", weights = "w",
       times = c(0, 10, 20, 30, 50, 100, 200), taus = c(40, 100))
add_km("lung", name = "lung_weights_greenwood", group = "sex", weights = "w", robust = FALSE,
       times = c(0, 180, 365, 730, 1100), taus = c(365, 730))
## R's default for non-integer weights: robust (infinitesimal jackknife, one cluster per row)
add_km("lung", name = "lung_weights_robust", group = "sex", weights = "w",
       times = c(0, 180, 365, 730, 1100), taus = c(365, 730))
add_km("aml", name = "aml_weights_robust_plain", group = "group", weights = "w2",
       conf_type = "plain", times = c(0, 10, 20, 30, 50, 100, 200), taus = c(40, 100))
add_km("heart", name = "heart_weights_robust_loglog", group = "transplant", entry = "start",
       weights = "w", conf_type = "log-log", times = c(0, 30, 100, 365, 1000, 2000),
       taus = c(365, 1000))

## flat segments at exactly 1 - p: group F1 has S = 1/2 on [2, 4); group F2 ends at S = 1/2.
## quantile.survfit (findq) and print/summary(fit)$table (survmean) agree for F1 but not F2.
flat <- data.frame(time = c(1, 2, 3, 4, 1, 2, 5, 6, 7, 8, 9),
                   status = c(1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0),
                   group = c(rep("F1", 4), rep("F2", 2), rep("F3", 5)))
write.csv(flat, file.path(dat_dir, "km_flat.csv"), row.names = FALSE)
flat <- read.csv(file.path(dat_dir, "km_flat.csv"))
flat_fit <- survfit(Surv(time, status) ~ group, data = flat)
fq <- quantile(flat_fit, probs = c(0.25, 0.5, 0.75))
ft <- summary(flat_fit)$table
flat_case <- list(groups = c("F1", "F2", "F3"), probs = c(0.25, 0.5, 0.75),
                  quantile = unname(fq$quantile), lower = unname(fq$lower),
                  upper = unname(fq$upper), table_median = unname(ft[, "median"]))

## reverse Kaplan-Meier median follow-up: quantile(survfit(Surv(time, 1 - status) ~ g), 0.5)
revkm <- function(ds, group = NULL) {
  d <- datasets[[ds]]
  if (!is.null(group)) d$g <- factor(d[[group]], levels = srt(d[[group]]))
  f <- if (is.null(group)) survfit(Surv(time, 1 - status) ~ 1, data = d) else survfit(Surv(time, 1 - status) ~ g, data = d)
  q <- quantile(f, probs = 0.5)
  glabs <- if (is.null(f$strata)) "all" else sub("^[^=]*=", "", names(f$strata))
  list(dataset = ds, group = group, groups = glabs, median = unname(c(q$quantile)),
       lower = unname(c(q$lower)), upper = unname(c(q$upper)))
}
revkm_cases <- list(revkm("aml", "group"), revkm("lung"), revkm("veteran", "celltype"))

## RMST difference of two independent arms (what survRM2 reports as "RMST (arm=1)-(arm=0)"
## when computed from print(survfit, rmean = tau)): diff, sqrt(se1^2 + se2^2), normal CI, p
rmst_diff <- function(ds, group, tau, conf_level = 0.95) {
  d <- datasets[[ds]]; d$g <- factor(d[[group]], levels = srt(d[[group]]))
  f <- survfit(Surv(time, status) ~ g, data = d)
  m <- survival:::survmean(f, rmean = tau)$matrix
  est <- m[2, "rmean"] - m[1, "rmean"]; se <- sqrt(m[1, "se(rmean)"]^2 + m[2, "se(rmean)"]^2)
  z <- qnorm(1 - (1 - conf_level) / 2)
  list(dataset = ds, group = group, tau = tau, conf_level = conf_level,
       groups = sub("^[^=]*=", "", names(f$strata)), rmean = unname(m[, "rmean"]),
       se_arm = unname(m[, "se(rmean)"]), estimate = est, se = se,
       lower = est - z * se, upper = est + z * se, p = 2 * pnorm(-abs(est / se)))
}
rmst_cases <- list(rmst_diff("aml", "group", 40), rmst_diff("lung", "sex", 365, 0.9),
                   rmst_diff("hand", "group", 5))

## ---------------------------------------------------------------- log-rank family
sdiff <- function(name, ds, group, strata = NULL, rho = 0) {
  d <- datasets[[ds]]
  d <- d[!is.na(d[[group]]), ]
  if (!is.null(strata)) d <- d[!is.na(d[[strata]]), ]
  d$g <- factor(d[[group]], levels = srt(d[[group]]))
  f <- if (is.null(strata)) Surv(time, status) ~ g else
    as.formula(paste("Surv(time, status) ~ g + strata(", strata, ")"))
  s <- survdiff(f, data = d, rho = rho)
  obs <- if (is.matrix(s$obs)) rowSums(s$obs) else s$obs
  exp <- if (is.matrix(s$exp)) rowSums(s$exp) else s$exp
  ok <- exp > 0
  df <- sum(ok) - 1
  list(name = name, dataset = ds, group = group, strata = strata, rho = rho,
       groups = levels(d$g), n = unname(as.vector(table(d$g))), observed = unname(obs),
       expected = unname(exp), var = unname(s$var), chisq = s$chisq, df = df,
       p = pchisq(s$chisq, df, lower.tail = FALSE))
}
lr_cases <- list(
  sdiff("hand_lr", "hand", "group"), sdiff("hand_peto", "hand", "group", rho = 1),
  sdiff("aml_lr", "aml", "group"), sdiff("aml_rho1", "aml", "group", rho = 1),
  sdiff("aml_rho05", "aml", "group", rho = 0.5),
  sdiff("lung_sex_lr", "lung", "sex"), sdiff("lung_sex_rho1", "lung", "sex", rho = 1),
  sdiff("lung_ecog_lr", "lung", "ph_ecog"),
  sdiff("lung_sex_strata_ecog", "lung", "sex", strata = "ph_ecog"),
  sdiff("veteran_cell_lr", "veteran", "celltype"),
  sdiff("veteran_cell_rho1", "veteran", "celltype", rho = 1),
  sdiff("veteran_trt_strata_cell", "veteran", "trt", strata = "celltype"),
  sdiff("veteran_trt_strata_cell_rho1", "veteran", "trt", strata = "celltype", rho = 1))

## Weighted log-rank written out explicitly (survival has no Gehan / Tarone-Ware / FH(p,q)):
## at each distinct event time within a stratum, w = wfun(n at risk, pooled KM S(t-)).
wlr <- function(time, status, group, strata, wfun) {
  g <- factor(group, levels = srt(group)); k <- nlevels(g); gi <- as.integer(g)
  if (is.null(strata)) strata <- rep(1, length(time))
  O <- E <- numeric(k); V <- matrix(0, k, k)
  for (s in unique(strata)) {
    ii <- strata == s; tt <- time[ii]; dd <- status[ii]; gg <- gi[ii]; S <- 1
    for (t in sort(unique(tt[dd == 1]))) {
      nk <- tabulate(gg[tt >= t], k); n <- sum(nk)
      dk <- tabulate(gg[tt == t & dd == 1], k); d <- sum(dk)
      w <- wfun(n, S)
      O <- O + w * dk; E <- E + w * d * nk / n
      if (n > 1) V <- V + w^2 * d * (n - d) / (n - 1) * (diag(nk / n, k) - outer(nk / n, nk / n))
      S <- S * (1 - d / n)
    }
  }
  ok <- E > 0; z <- (O - E)[ok][-1]; vv <- V[ok, ok, drop = FALSE][-1, -1, drop = FALSE]
  chisq <- sum(solve(vv, z) * z); df <- sum(ok) - 1
  list(groups = levels(g), observed = O, expected = E, var = V, chisq = chisq, df = df,
       p = pchisq(chisq, df, lower.tail = FALSE))
}
wcase <- function(name, ds, group, weights, p = 0, q = 0, strata = NULL) {
  d <- datasets[[ds]]; d <- d[!is.na(d[[group]]), ]
  if (!is.null(strata)) d <- d[!is.na(d[[strata]]), ]
  wfun <- switch(weights, logrank = function(n, S) 1, gehan = function(n, S) n,
                 "tarone-ware" = function(n, S) sqrt(n), peto = function(n, S) S,
                 "fleming-harrington" = function(n, S) S^p * (1 - S)^q)
  r <- wlr(d$time, d$status, d[[group]], if (is.null(strata)) NULL else d[[strata]], wfun)
  c(list(name = name, dataset = ds, group = group, strata = strata, weights = weights,
         p_fh = p, q_fh = q), r)
}
## self-check of the explicit implementation against survdiff (rho = 0, 1, 0.5; strata)
chk <- function(ds, group, rho, strata = NULL) {
  a <- sdiff("chk", ds, group, strata, rho)
  d <- datasets[[ds]]; d <- d[!is.na(d[[group]]), ]; if (!is.null(strata)) d <- d[!is.na(d[[strata]]), ]
  b <- wlr(d$time, d$status, d[[group]], if (is.null(strata)) NULL else d[[strata]], function(n, S) S^rho)
  max(abs(c(a$observed - b$observed, a$expected - b$expected, a$var - b$var, a$chisq - b$chisq)))
}
selfcheck <- c(chk("aml", "group", 0), chk("aml", "group", 1), chk("veteran", "celltype", 0.5),
               chk("veteran", "trt", 1, "celltype"), chk("lung", "sex", 0, "ph_ecog"))
stopifnot(all(selfcheck < 1e-10))
w_cases <- list(
  wcase("hand_gehan", "hand", "group", "gehan"), wcase("hand_tw", "hand", "group", "tarone-ware"),
  wcase("aml_gehan", "aml", "group", "gehan"), wcase("aml_tw", "aml", "group", "tarone-ware"),
  wcase("aml_fh11", "aml", "group", "fleming-harrington", 1, 1),
  wcase("aml_fh01", "aml", "group", "fleming-harrington", 0, 1),
  wcase("veteran_cell_gehan", "veteran", "celltype", "gehan"),
  wcase("veteran_cell_tw", "veteran", "celltype", "tarone-ware"),
  wcase("veteran_cell_fh11", "veteran", "celltype", "fleming-harrington", 1, 1),
  wcase("veteran_trt_strata_gehan", "veteran", "trt", "gehan", strata = "celltype"),
  wcase("lung_sex_fh0505", "lung", "sex", "fleming-harrington", 0.5, 0.5))

## test for trend: (sum s (O - E))^2 / (s' V s), 1 df, from survdiff (as survminer / EZR)
trend <- function(name, ds, group, scores = NULL, strata = NULL) {
  s <- sdiff(name, ds, group, strata)
  sc <- if (is.null(scores)) seq_along(s$groups) else scores
  u <- sum(sc * (s$observed - s$expected)); v <- drop(t(sc) %*% s$var %*% sc)
  list(name = name, dataset = ds, group = group, strata = strata, scores = sc,
       groups = s$groups, statistic = u^2 / v, p = pchisq(u^2 / v, 1, lower.tail = FALSE))
}
trend_cases <- list(trend("lung_ecog_default", "lung", "ph_ecog"),
                    trend("lung_ecog_scores", "lung", "ph_ecog", scores = c(0, 1, 2, 5)),
                    trend("lung_ecog_strata_sex", "lung", "ph_ecog", strata = "sex"),
                    trend("veteran_cell", "veteran", "celltype"))

## pairwise log-rank (each pair: survdiff on the two groups' rows) + p.adjust
pairwise <- function(ds, group, rho = 0) {
  d <- datasets[[ds]]; d <- d[!is.na(d[[group]]), ]; lv <- srt(d[[group]])
  pr <- combn(length(lv), 2)
  g1 <- lv[pr[1, ]]; g2 <- lv[pr[2, ]]; stat <- p <- numeric(ncol(pr))
  for (j in seq_len(ncol(pr))) {
    dd <- d[d[[group]] %in% c(g1[j], g2[j]), ]
    s <- survdiff(Surv(time, status) ~ dd[[group]], data = dd, rho = rho)
    stat[j] <- s$chisq; p[j] <- pchisq(s$chisq, 1, lower.tail = FALSE)
  }
  list(dataset = ds, group = group, rho = rho, group1 = g1, group2 = g2, statistic = stat, p = p,
       holm = p.adjust(p, "holm"), bonferroni = p.adjust(p, "bonferroni"), BH = p.adjust(p, "BH"))
}
pw_cases <- list(pairwise("veteran", "celltype"), pairwise("lung", "ph_ecog"),
                 pairwise("veteran", "celltype", rho = 1))

pv <- c(0.01, 0.04, NA, 0.03, 0.2, 0.04, 0.5, 1e-5, 0.9)
padj <- list(p = pv)
for (m in c("holm", "hochberg", "bonferroni", "BH", "BY", "none")) padj[[m]] <- p.adjust(pv, m)

out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")),
            km = km_cases, flat = flat_case, revkm = revkm_cases, rmst_diff = rmst_cases, survdiff = lr_cases,
            weighted = w_cases, weighted_selfcheck_max_abs = max(selfcheck), trend = trend_cases,
            pairwise = pw_cases, p_adjust = padj)
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, null = "null"),
           file.path(ref_dir, "km_logrank.json"))
cat("wrote", file.path(ref_dir, "km_logrank.json"), "\n")
