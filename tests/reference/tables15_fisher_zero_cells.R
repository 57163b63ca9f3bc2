# Reference values for tests/test_tables_journal.py (odds ratios with a zero cell).
# R 4.2, stats::fisher.test: conditional MLE of the odds ratio (0 or Inf when a cell is
# zero) with its exact 95% CI and two-sided p. Run: Rscript tables15_fisher_zero_cells.R
library(jsonlite)
one <- function(m) {
  f <- fisher.test(matrix(m, 2, byrow = TRUE))
  list(table = m, estimate = unname(f$estimate), lower = f$conf.int[1],
       upper = f$conf.int[2], p = f$p.value)
}
out <- list(
  # 30/30 responders vs 3/11 (mCR2 after ATO vs IC on the replica): OR = Inf
  infinite = one(c(30, 0, 3, 8)),
  # 0/30 vs 1/11 (early death): OR = 0
  zero = one(c(0, 30, 1, 10))
)
fix <- function(x) if (is.list(x)) lapply(x, fix) else if (is.numeric(x)) ifelse(is.infinite(x), ifelse(x > 0, "Inf", "-Inf"), x) else x
writeLines(toJSON(fix(out), digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tables15_fisher_zero_cells.json")
