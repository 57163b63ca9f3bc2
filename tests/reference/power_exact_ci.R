# Reference values for the exact (Clopper-Pearson) 95 % interval of a simulated power,
# k significant replicates of reps: R stats::binom.test(k, reps)$conf.int (R 4.2).
# Run from the repository root:  Rscript tests/reference/power_exact_ci.R
# Writes tests/reference/power_exact_ci.json (full precision).
library(jsonlite)
cases <- list(c(0, 20), c(20, 20), c(3, 20), c(1, 2), c(0, 2), c(2, 2), c(37, 1000),
              c(500, 1000), c(999, 1000))
out <- lapply(cases, function(x) {
  ci <- binom.test(x[1], x[2], conf.level = 0.95)$conf.int
  list(k = x[1], reps = x[2], lower = ci[1], upper = ci[2])
})
writeLines(toJSON(list(r_version = R.version.string, cases = out), auto_unbox = TRUE,
                  digits = NA, pretty = TRUE), "tests/reference/power_exact_ci.json")
