# Reference values for Kaplan-Meier intervals of a group without events (review 11, F7a;
# R 4.2, survival 3.5-3).  Run from the repository root:
#   Rscript tests/reference/km_loglog_no_event.R
# Writes tests/reference/km_loglog_no_event.json (full precision; NA -> null).
#
# Group C has no event (censored at 5, 6, 9, 10, 11): S = 1 and std.err 0 throughout.
# summary(survfit, times =) gives the interval 1 to 1 before C's first recorded time (3)
# under every transform, and at its recorded times (6.5, 10) 1 to 1 for "log" and "plain"
# but NA for "log-log" (log(-log 1) is not finite).
suppressPackageStartupMessages(library(survival))
library(jsonlite)
d <- data.frame(time = c(1, 2, 2, 4, 7, 8, 5, 6, 9, 10, 11),
                event = c(1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0),
                grp = c(rep("A", 6), rep("C", 5)))
out <- list(data = d)
for (ct in c("log-log", "log", "plain")) {
  s <- summary(survfit(Surv(time, event) ~ grp, data = d, conf.type = ct),
               times = c(3, 6.5, 10))
  keep <- s$strata == "grp=C"
  out[[ct]] <- list(time = s$time[keep], surv = s$surv[keep], std_err = s$std.err[keep],
                    lower = s$lower[keep], upper = s$upper[keep])
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/km_loglog_no_event.json")
cat("wrote tests/reference/km_loglog_no_event.json\n")
