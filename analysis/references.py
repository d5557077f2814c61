"""Every citation the project makes, once, with its DOI where it has one.

Modules refer to a work by its key (``cite("farrar2001")``); the report's reference list, the
instrument registry's sources and the methods text all read from here, so a work is never cited
in two editions or with two figures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """A cited work: a key, the citation and its DOI when it has one."""

    key: str
    citation: str
    doi: str | None = None

    def text(self) -> str:
        """The citation followed by its DOI, if any."""
        return f"{self.citation} doi:{self.doi}" if self.doi else self.citation


_WORKS: tuple[Reference, ...] = (
    # Instruments and clinically important differences
    Reference(
        "farrar2001",
        "Farrar JT et al. Clinical importance of changes in chronic pain intensity measured on an "
        "11-point numerical pain rating scale. Pain 2001;94:149-158.",
        "10.1016/S0304-3959(01)00349-9",
    ),
    Reference(
        "dworkin2008",
        "Dworkin RH et al. Interpreting the clinical importance of treatment outcomes in chronic "
        "pain clinical trials: IMMPACT recommendations. J Pain 2008;9:105-121.",
        "10.1016/j.jpain.2007.09.005",
    ),
    Reference(
        "frisaldi_placebo",
        "Frisaldi E et al. Placebo response in painful diabetic neuropathy: meta-analysis of the "
        "placebo arms of 21 randomised trials. Pain.",
        "10.1097/j.pain.0000000000003000",
    ),
    Reference(
        "vernon2008",
        "Vernon MK et al. Validation of the Daily Sleep Interference Scale in diabetic peripheral "
        "neuropathic pain and postherpetic neuralgia. J Pain Symptom Manage 2008;36:54-68.",
    ),
    Reference(
        "cleeland1994",
        "Cleeland CS, Ryan KM. Pain assessment: global use of the Brief Pain Inventory. Ann Acad "
        "Med Singapore 1994;23:129-138.",
    ),
    Reference(
        "dyck1997",
        "Dyck PJ, Davies JL, Litchy WJ, O'Brien PC. Longitudinal assessment of diabetic "
        "polyneuropathy using a composite score in the Rochester Diabetic Neuropathy Study "
        "cohort. Neurology 1997;49:229-239.",
    ),
    Reference(
        "bastyr2005",
        "Bastyr EJ 3rd et al. Development and validity testing of the Neuropathy Total Symptom "
        "Score-6: questionnaire for the study of sensory symptoms of diabetic peripheral "
        "neuropathy. Clin Ther 2005;27:1278-1294.",
        "10.1016/j.clinthera.2005.08.002",
    ),
    Reference(
        "rbx_placebo2007",
        "Factors that impact symptomatic diabetic peripheral neuropathy in placebo-administered "
        "patients from two 1-year clinical trials (262 placebo patients of two identical phase 3 "
        "ruboxistaurin trials, mild DPN). Diabetes Care 2007;30(10):2626.",
    ),
    Reference(
        "dominguez_munoz2020",
        "Domínguez-Muñoz FJ et al. Test-retest reliability of vibration perception threshold test "
        "in people with type 2 diabetes mellitus. Int J Environ Res Public Health 2020;17:1773 "
        "(Vibratron II; smallest real difference 24.94%).",
        "10.3390/ijerph17051773",
    ),
    Reference(
        "pregabalin_dsi_pooled",
        "Understanding the impact of pain response on changes in function, quality of life, and "
        "sleep interference in patients with painful diabetic peripheral neuropathy and "
        "postherpetic neuralgia treated with pregabalin (pooled analysis of 10 placebo-controlled "
        "pregabalin trials, 5-13 weeks; authors and journal not verified here).",
    ),
    Reference(
        "bril2002",
        "Bril V, Perkins BA. Validation of the Toronto Clinical Scoring System for diabetic "
        "polyneuropathy. Diabetes Care 2002;25:2048-2052.",
        "10.2337/diacare.25.11.2048",
    ),
    # Statistical methods
    Reference(
        "student1908",
        "Student. The probable error of a mean. Biometrika 1908;6:1-25.",
        "10.1093/biomet/6.1.1",
    ),
    Reference(
        "hollander2014",
        "Hollander M, Wolfe DA, Chicken E. Nonparametric Statistical Methods, 3rd ed. Wiley, 2014 "
        "(signed-rank test, Hodges-Lehmann estimate and interval).",
        "10.1002/9781119196037",
    ),
    Reference(
        "royston1995",
        "Royston P. Remark AS R94: a remark on algorithm AS 181. Appl Stat 1995;44:547-551.",
        "10.2307/2986146",
    ),
    Reference(
        "lakens2013",
        "Lakens D. Calculating and reporting effect sizes to facilitate cumulative science. "
        "Front Psychol 2013;4:863.",
        "10.3389/fpsyg.2013.00863",
    ),
    Reference(
        "friedman1937",
        "Friedman M. The use of ranks to avoid the assumption of normality implicit in the "
        "analysis of variance. J Am Stat Assoc 1937;32:675-701.",
        "10.1080/01621459.1937.10503522",
    ),
    Reference(
        "laird_ware1982",
        "Laird NM, Ware JH. Random-effects models for longitudinal data. Biometrics "
        "1982;38:963-974.",
        "10.2307/2529876",
    ),
    Reference(
        "clopper1934",
        "Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case "
        "of the binomial. Biometrika 1934;26:404-413.",
        "10.1093/biomet/26.4.404",
    ),
    Reference(
        "vickers2001",
        "Vickers AJ, Altman DG. Analysing controlled trials with baseline and follow up "
        "measurements. BMJ 2001;323:1123-1124.",
        "10.1136/bmj.323.7321.1123",
    ),
    Reference(
        "newcombe1998",
        "Newcombe RG. Interval estimation for the difference between independent proportions: "
        "comparison of eleven methods. Stat Med 1998;17:873-890.",
        "10.1002/(SICI)1097-0258(19980430)17:8<873::AID-SIM779>3.0.CO;2-I",
    ),
    Reference(
        "holm1979",
        "Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat "
        "1979;6:65-70.",
    ),
    Reference(
        "benjamini1995",
        "Benjamini Y, Hochberg Y. Controlling the false discovery rate: a practical and powerful "
        "approach to multiple testing. J R Stat Soc B 1995;57:289-300.",
        "10.1111/j.2517-6161.1995.tb02031.x",
    ),
    Reference(
        "rochon2012",
        "Rochon J, Gondan M, Kieser M. To test or not to test: preliminary assessment of "
        "normality when comparing two independent samples. BMC Med Res Methodol 2012;12:81.",
        "10.1186/1471-2288-12-81",
    ),
    Reference(
        "best_roberts1975",
        "Best DJ, Roberts DE. Algorithm AS 89: the upper tail probabilities of Spearman's rho. "
        "Appl Stat 1975;24:377-379.",
        "10.2307/2347111",
    ),
    Reference(
        "satterthwaite1946",
        "Satterthwaite FE. An approximate distribution of estimates of variance components. "
        "Biometrics Bulletin 1946;2:110-114.",
        "10.2307/3002019",
    ),
    Reference(
        "kenward_roger1997",
        "Kenward MG, Roger JH. Small sample inference for fixed effects from restricted maximum "
        "likelihood. Biometrics 1997;53:983-997.",
        "10.2307/2533558",
    ),
    Reference(
        "mmrm_r",
        "Sabanes Bove D et al. mmrm: Mixed Models for Repeated Measures. R package (openpharma), "
        "version 0.3; reference implementation the project's MMRM is tested against.",
    ),
    Reference(
        "ich_e9r1",
        "ICH E9(R1) addendum on estimands and sensitivity analysis in clinical trials to the "
        "guideline on statistical principles for clinical trials. 2019.",
    ),
    # Missing data: primary analysis under MAR and sensitivity analyses (analysis.stats.imputation)
    Reference(
        "rubin1976",
        "Rubin DB. Inference and missing data. Biometrika 1976;63:581-592.",
        "10.1093/biomet/63.3.581",
    ),
    Reference(
        "rubin1987",
        "Rubin DB. Multiple Imputation for Nonresponse in Surveys. New York: Wiley, 1987.",
    ),
    Reference(
        "barnard_rubin1999",
        "Barnard J, Rubin DB. Small-sample degrees of freedom with multiple imputation. "
        "Biometrika 1999;86:948-955.",
        "10.1093/biomet/86.4.948",
    ),
    Reference(
        "little_rubin2019",
        "Little RJA, Rubin DB. Statistical Analysis with Missing Data, 3rd ed. Hoboken: Wiley, "
        "2019.",
    ),
    Reference(
        "nrc2010",
        "National Research Council. The Prevention and Treatment of Missing Data in Clinical "
        "Trials. Washington, DC: The National Academies Press, 2010.",
        "10.17226/12955",
    ),
    Reference(
        "ema2010",
        "European Medicines Agency, Committee for Medicinal Products for Human Use. Guideline on "
        "missing data in confirmatory clinical trials. EMA/CPMP/EWP/1776/99 Rev. 1, 2010.",
    ),
    Reference(
        "gewandter2014",
        "Gewandter JS et al. Reporting of missing data and methods used to accommodate them in "
        "recent analgesic clinical trials: ACTTION systematic review and recommendations. Pain "
        "2014;155:1871-1877.",
        "10.1016/j.pain.2014.06.018",
    ),
    Reference(
        "carpenter2013",
        "Carpenter JR, Roger JH, Kenward MG. Analysis of longitudinal trials with protocol "
        "deviation: a framework for relevant, accessible assumptions, and inference via multiple "
        "imputation. J Biopharm Stat 2013;23:1352-1371.",
        "10.1080/10543406.2013.834911",
    ),
    Reference(
        "seaman2014",
        "Seaman SR, White IR, Leacy FP. Comment on 'Analysis of longitudinal trials with "
        "protocol deviations: a framework for relevant, accessible assumptions, and inference via "
        "multiple imputation' by Carpenter, Roger, and Kenward. J Biopharm Stat "
        "2014;24:1358-1362.",
        "10.1080/10543406.2014.928306",
    ),
    Reference(
        "cro2020",
        "Cro S, Morris TP, Kenward MG, Carpenter JR. Sensitivity analysis for clinical trials "
        "with missing continuous outcome data using controlled multiple imputation: a practical "
        "guide. Stat Med 2020;39:2815-2842.",
        "10.1002/sim.8569",
    ),
    Reference(
        "ratitch2013",
        "Ratitch B, O'Kelly M, Tosiello R. Missing data in clinical trials: from clinical "
        "assumptions to statistical analysis using pattern mixture models. Pharm Stat "
        "2013;12:337-347.",
        "10.1002/pst.1549",
    ),
    Reference(
        "marshall2009",
        "Marshall A, Altman DG, Holder RL, Royston P. Combining estimates of interest in "
        "prognostic modelling studies after multiple imputation: current practice and "
        "guidelines. BMC Med Res Methodol 2009;9:57.",
        "10.1186/1471-2288-9-57",
    ),
    Reference(
        "zellner1962",
        "Zellner A. An efficient method of estimating seemingly unrelated regressions and tests "
        "for aggregation bias. J Am Stat Assoc 1962;57:348-368.",
    ),
    # Safety and time to event (analysis.stats.adverse_events, survival, time_to_event)
    Reference(
        "isscr2021",
        "International Society for Stem Cell Research. ISSCR Guidelines for Stem Cell Research "
        "and Clinical Translation, version 1.0, May 2021 (recommendation 3.4.3.2: adverse "
        "events reported with their severity and relation to the cells and the procedure).",
    ),
    Reference(
        "wang2021_msc_safety",
        "Wang Y, Yi H, Song Y. The safety of MSC therapy over the past 15 years: a "
        "meta-analysis. Stem Cell Res Ther 2021;12:545 (62 randomised trials; transient fever "
        "OR 3.65, administration-site events OR 1.98).",
        "10.1186/s13287-021-02609-x",
    ),
    Reference(
        "garwood1936",
        "Garwood F. Fiducial limits for the Poisson distribution. Biometrika 1936;28:437-442.",
    ),
    Reference(
        "kaplan_meier1958",
        "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat "
        "Assoc 1958;53:457-481.",
        "10.1080/01621459.1958.10501452",
    ),
    Reference(
        "brookmeyer_crowley1982",
        "Brookmeyer R, Crowley J. A confidence interval for the median survival time. "
        "Biometrics 1982;38:29-41.",
        "10.2307/2530286",
    ),
    Reference(
        "mantel1966",
        "Mantel N. Evaluation of survival data and two new rank order statistics arising in its "
        "consideration. Cancer Chemother Rep 1966;50:163-170.",
    ),
    Reference(
        "cox1972",
        "Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220.",
        "10.1111/j.2517-6161.1972.tb00899.x",
    ),
    Reference(
        "efron1977",
        "Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat "
        "Assoc 1977;72:557-565.",
    ),
    Reference(
        "lindsey_ryan1998",
        "Lindsey JC, Ryan LM. Tutorial in biostatistics: methods for interval-censored data. "
        "Stat Med 1998;17:219-238.",
    ),
    Reference(
        "r_survival",
        "Therneau TM. A Package for Survival Analysis in R (survival), version 3.5; the "
        "reference implementation the project's Kaplan-Meier, log-rank and Cox numbers are "
        "tested against.",
    ),
    Reference(
        "moll2019_tissue_factor",
        "Moll G, Ankrum JA, Kamhieh-Milz J, et al. Intravascular mesenchymal stromal/stem cell "
        "therapy product diversification: time for new clinical guidelines. Trends Mol Med "
        "2019;25:149-163 (procoagulant tissue factor on MSC products; instant blood-mediated "
        "inflammatory reaction).",
        "10.1016/j.molmed.2018.12.006",
    ),
)

REFERENCES: dict[str, Reference] = {work.key: work for work in _WORKS}


def cite(key: str) -> str:
    """The full citation (with DOI) of the work ``key``."""
    return REFERENCES[key].text()
