# Reference for tests/test_cohort_types.py: KMsurv bmt saved as CSV with missing cells in
# numeric columns (blank, NA, n/a and "."), and the complete-case Cox fit R gives on it.
# Run from the repository root:  Rscript tests/reference/cohort_types_bmt.R
library(KMsurv)
library(survival)
library(jsonlite)
data(bmt)
d <- data.frame(patient_id = sprintf("B%03d", seq_len(nrow(bmt))), dfs_days = bmt$t2,
                dfs_event = bmt$d3, age = bmt$z1, waiting_days = bmt$z7, fab = bmt$z8)
# missing cells written four ways (rows are data rows; spreadsheet row = row + 1)
na_rows <- list(age = c(5, 40), waiting_days = c(10, 77))
tokens <- c("", "NA", "n/a", ".")
out <- d
out$age <- as.character(out$age)
out$waiting_days <- as.character(out$waiting_days)
out$age[na_rows$age] <- tokens[1:2]
out$waiting_days[na_rows$waiting_days] <- tokens[3:4]
dir.create("tests/data/types", showWarnings = FALSE, recursive = TRUE)
write.csv(out, "tests/data/types/bmt_missing.csv", row.names = FALSE, quote = FALSE)
d$age[na_rows$age] <- NA
d$waiting_days[na_rows$waiting_days] <- NA
fit <- coxph(Surv(dfs_days, dfs_event) ~ age + waiting_days, data = d, ties = "efron")
s <- summary(fit)$coefficients
ref <- list(
  call = "coxph(Surv(dfs_days, dfs_event) ~ age + waiting_days, data = d, ties = 'efron')",
  n = fit$n, nevent = fit$nevent, n_missing = length(fit$na.action),
  excluded_ids = d$patient_id[as.integer(fit$na.action)],
  term = rownames(s),
  # full precision: jsonlite prints at most 15 significant digits, so numbers are
  # stored as "%.17g" text and read back with float() in the test
  coef = sprintf("%.17g", unname(s[, "coef"])), se = sprintf("%.17g", unname(s[, "se(coef)"])),
  loglik = sprintf("%.17g", fit$loglik))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/cohort_types_bmt.json")
