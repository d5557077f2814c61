# High-precision reference fits with nlme::gls (tight tolerances) for the covariance structures
# nlme can express; used to show that the residual differences to mmrm are mmrm's optimiser
# tolerance. Usage (from the repository root):
#   Rscript tests/stats/mmrm/nlme_reference.R ../shared/reference/mmrm tests/stats/mmrm/nlme_reference.json
suppressPackageStartupMessages({library(nlme); library(jsonlite); library(emmeans)})
args <- commandArgs(trailingOnly = TRUE)
ref_dir <- args[[1]]
lv <- fromJSON(file.path(ref_dir, "fev_data_levels.json"))
d <- read.csv(file.path(ref_dir, "fev_data.csv"), na.strings = "", stringsAsFactors = FALSE)
for (c in c("ARMCD", "AVISIT", "RACE", "SEX", "USUBJID")) d[[c]] <- factor(d[[c]], levels = lv[[c]])
d <- d[!is.na(d$FEV1), ]
d$vis <- as.integer(d$AVISIT)
ctl <- glsControl(maxIter = 1000, msMaxIter = 1000, tolerance = 1e-12, msTol = 1e-14,
                  returnObject = TRUE, opt = "optim", optimMethod = "BFGS")
ctl_nlminb <- glsControl(maxIter = 1000, msMaxIter = 1000, tolerance = 1e-12, msTol = 1e-14,
                         returnObject = TRUE, opt = "nlminb")
het <- varIdent(form = ~ 1 | AVISIT)
base_form <- FEV1 ~ RACE + SEX + ARMCD * AVISIT
bl_form <- FEV1 ~ RACE + SEX + FEV1_BL + FEV1_BL:AVISIT + ARMCD * AVISIT
specs <- list(
  us_reml = list(cor = corSymm(form = ~ vis | USUBJID), w = het, method = "REML"),
  us_reml_baseline_by_visit = list(
    cor = corSymm(form = ~ vis | USUBJID), w = het, method = "REML", form = bl_form
  ),
  us_ml = list(cor = corSymm(form = ~ vis | USUBJID), w = het, method = "ML"),
  cs_reml = list(cor = corCompSymm(form = ~ vis | USUBJID), w = NULL, method = "REML"),
  csh_reml = list(cor = corCompSymm(form = ~ vis | USUBJID), w = het, method = "REML"),
  ar1_reml = list(cor = corAR1(form = ~ vis | USUBJID), w = NULL, method = "REML"),
  ar1h_reml = list(cor = corAR1(form = ~ vis | USUBJID), w = het, method = "REML"),
  toep_reml = list(cor = corARMA(form = ~ vis | USUBJID, p = 3), w = NULL, method = "REML"),
  toeph_reml = list(cor = corARMA(form = ~ vis | USUBJID, p = 3), w = het, method = "REML")
)
out <- list(
  generator = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                   emmeans = as.character(packageVersion("emmeans"))),
  fits = lapply(specs, function(s) {
    form <- if (is.null(s$form)) base_form else s$form
    # the call holds the objects themselves, so emmeans can re-evaluate it
    fit_with <- function(control) {
      eval(bquote(gls(.(form), data = d, correlation = .(s$cor), weights = .(s$w),
                      method = .(s$method), control = .(control))))
    }
    # BFGS converges tightly; corARMA needs nlminb (BFGS steps outside the stationary region)
    f <- tryCatch(fit_with(ctl), error = function(e) fit_with(ctl_nlminb))
    v <- getVarCov(f, individual = "PT8")  # a patient with all four visits
    emm <- as.data.frame(emmeans(f, ~ ARMCD | AVISIT, mode = "df.error"))
    list(formula = deparse(formula(f)), logLik = as.numeric(logLik(f)), name = names(coef(f)),
         estimate = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
         cov = matrix(as.numeric(v), nrow(v)),
         lsmeans = data.frame(ARMCD = as.character(emm$ARMCD), AVISIT = as.character(emm$AVISIT),
                              estimate = emm$emmean, se = emm$SE))
  })
)
writeLines(toJSON(out, digits = I(17), pretty = TRUE, auto_unbox = TRUE), args[[2]])
