# Reference values for aplcohort.synthetic.published (independent re-derivation in R).
# Run from the repository root:  Rscript tests/reference/synthetic.R
# Writes tests/reference/synthetic.json at full precision.
# Illness-death OS is computed by numerical integration (integrate) rather than the
# closed form used in Python, and the death-after-relapse rate by uniroot.
library(jsonlite)

os_at <- function(t, lr, ln, mu) {
  L <- lr + ln
  nrm <- if (L > 0) ln / L * (1 - exp(-L * t)) else 0
  rd <- integrate(function(s) lr * exp(-L * s) * (1 - exp(-mu * (t - s))), 0, t,
                  rel.tol = 1e-12, subdivisions = 1000L)$value
  1 - nrm - rd
}
solve_mu <- function(t, lr, ln, os) {
  uniroot(function(m) os_at(t, lr, ln, m) - os, c(1e-12, 100), tol = 1e-15, maxiter = 1000)$root
}
cif_rates <- function(t, c1, c2) {
  f <- c1 + c2
  if (f == 0) return(c(0, 0))
  L <- -log(1 - f) / t
  c(L * c1 / f, L * c2 / f)
}
efs_nrm_rates <- function(t, efs, tn, nrm) {
  L <- -log(efs) / t
  ln <- nrm * L / (1 - exp(-L * tn))
  c(L - ln, ln)
}
arm <- function(r, os, t) {
  list(relapse_rate = r[1], nrm_rate = r[2], death_after_relapse_rate = solve_mu(t, r[1], r[2], os))
}

out <- list()
# JALSG-APL97 (Fujita 2013): 5-y EFS/OS/CIR; NRM = max(0, 1 - EFS - CIR)
j <- list(non_hsct = c(efs = 0.507, os = 0.774, cir = 0.510),
          auto = c(efs = 0.417, os = 0.833, cir = 0.583),
          allo = c(efs = 0.711, os = 0.762, cir = 0.098))
out$jalsg_apl97 <- lapply(j, function(v) arm(cif_rates(5, v[["cir"]], max(0, 1 - v[["efs"]] - v[["cir"]])), v[["os"]], 5))
# ELN registry (Lengfelder 2015): 3-y OS / CI 2nd relapse; NRM assumed 10 / 5 / 3 %
e <- list(hematologic = c(os = 0.68, cir = 0.41, nrm = 0.10),
          molecular = c(os = 0.66, cir = 0.48, nrm = 0.05),
          extramedullary = c(os = 0.90, cir = 0.11, nrm = 0.03))
out$eln_registry <- lapply(e, function(v) arm(cif_rates(3, v[["cir"]], v[["nrm"]]), v[["os"]], 3))
# CIBMTR (Holter Chakrabarty 2014): 5-y DFS/OS; 2-y NRM assumed from Sanz J 2021
cb <- list(auto = c(dfs = 0.63, os = 0.75, nrm = 0.027), allo = c(dfs = 0.50, os = 0.54, nrm = 0.173))
out$cibmtr_cr2 <- lapply(cb, function(v) arm(efs_nrm_rates(5, v[["dfs"]], 2, v[["nrm"]]), v[["os"]], 5))
# ADMIRAL / TOWER: common Weibull shape from two medians and the HR; check S(median) = 0.5
wb <- function(mt, mc, hr) {
  k <- uniroot(function(k) (mc / mt)^k - hr, c(0.01, 10), tol = 1e-15)$root
  c(shape = k, scale_trt = mt / log(2)^(1 / k), scale_ctl = mc / log(2)^(1 / k))
}
w1 <- wb(9.3, 5.6, 0.64); w2 <- wb(7.7, 4.0, 0.71)
out$admiral <- list(gilteritinib = list(shape = w1[["shape"]], scale = w1[["scale_trt"]]),
                    chemotherapy = list(shape = w1[["shape"]], scale = w1[["scale_ctl"]]))
out$tower <- list(blinatumomab = list(shape = w2[["shape"]], scale = w2[["scale_trt"]]),
                  chemotherapy = list(shape = w2[["shape"]], scale = w2[["scale_ctl"]]))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/synthetic.json")
