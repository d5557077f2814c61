"""Paired statistics against published reference values (source named beside each value)."""

import itertools

import numpy as np
import pytest

from analysis.present.format import format_p, p_phrase
from analysis.stats.paired import paired_statistics

REL = 1e-9  # R's values printed with digits = 17; the module follows R's algorithm step by step

# Student's sleep data, R datasets::sleep (Cushny & Peebles 1905): extra hours of sleep.
SLEEP_DRUG1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
SLEEP_DRUG2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])

# Hamilton depression scale, Hollander & Wolfe (1973) p. 29, the example in R's ?wilcox.test:
# x = first visit, y = second visit after a tranquilizer.
HW_X = np.array([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30])
HW_Y = np.array([0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29])

# 19 pairs with tied differences; R output printed in stats.stackexchange.com question 613310
# ("Mean difference 95% CI between paired samples"): t.test and wilcox.test, paired = TRUE.
SE_X = np.array([37.14, 34.69, 65.52, 40.56, 41.32, 39.34, 43.95, 44.26, 35.28, 37.12,
                 37.82, 34.71, 34.08, 33.08, 36.89, 41.38, 39.29, 41.62, 39.36])  # fmt: skip
SE_Y = np.array([33.21, 31.25, 43.73, 38.26, 41.72, 38.14, 41.07, 39.49, 28.50, 32.40,
                 35.87, 33.79, 30.49, 36.29, 33.18, 37.70, 33.86, 39.21, 35.43])  # fmt: skip

# ToothGrowth$len (R datasets), Shapiro-Wilk printed in r-stats-lightbridge.netlify.app
# "Normality Test": shapiro.test(ToothGrowth$len) W = 0.96743, p-value = 0.1091.
TOOTH_LEN = np.array([
    4.2, 11.5, 7.3, 5.8, 6.4, 10.0, 11.2, 11.2, 5.2, 7.0, 16.5, 16.5, 15.2, 17.3, 22.5,
    17.3, 13.6, 14.5, 18.8, 15.5, 23.6, 18.5, 33.9, 25.5, 26.4, 32.5, 26.7, 21.5, 23.3, 29.5,
    15.2, 21.5, 17.6, 9.7, 14.5, 10.0, 8.2, 9.4, 16.5, 9.7, 19.7, 23.3, 23.6, 26.4, 20.0,
    25.2, 25.8, 21.2, 14.5, 27.3, 25.5, 26.4, 22.4, 24.5, 24.8, 30.9, 26.4, 27.3, 29.4, 23.0,
])  # fmt: skip


class TestSleepData:
    """R: t.test(extra[group == 2], extra[group == 1], paired = TRUE) (R's ?t.test example,
    sign reversed): t = 4.0621, df = 9, p-value = 0.002833,
    95 percent CI 0.7001142 2.4598858, mean difference 1.58."""

    result = paired_statistics(SLEEP_DRUG1, SLEEP_DRUG2)

    def test_t_test_matches_r(self):
        assert self.result.t_statistic == pytest.approx(4.0621, abs=5e-5)
        assert self.result.df == 9
        assert self.result.p_value_t == pytest.approx(0.002833, abs=5e-7)
        assert self.result.change_ci_low == pytest.approx(0.7001142, abs=5e-8)
        assert self.result.change_ci_high == pytest.approx(2.4598858, abs=5e-8)
        assert self.result.mean_change == pytest.approx(1.58)

    def test_wilcoxon_with_zero_and_ties_matches_r(self):
        # R: wilcox.test(extra ~ group, data = sleep, paired = TRUE) prints V = 0,
        # p-value = 0.009091 (warnings: ties and zeroes). Reversed order: V = 45.
        assert self.result.wilcoxon_v == 45
        assert self.result.p_value_wilcoxon == pytest.approx(0.009091, abs=5e-7)
        assert self.result.wilcoxon_n == 9  # the zero difference is dropped
        assert self.result.wilcoxon_n_zero == 1
        assert self.result.wilcoxon_method == "normal approximation with continuity correction"
        codes = {w["code"] for w in self.result.warnings}
        assert {"zero_changes", "ties"} <= codes

    def test_hodges_lehmann_with_zero_and_ties_matches_r(self):
        # R 4.2.2: r <- wilcox.test(round(s2 - s1, 12), conf.int = TRUE), s1 and s2 the two
        # groups of sleep$extra (the same as wilcox.test(s2, s1, paired = TRUE, conf.int = TRUE)
        # here): r$estimate 1.4000208422698907640, r$conf.int 1.0500179906645428218
        # 2.9499207995407807914, attr(r$conf.int, "conf.level") 0.95.
        r = self.result
        assert r.hodges_lehmann == pytest.approx(1.4000208422698907640, rel=REL)
        assert r.hl_ci_low == pytest.approx(1.0500179906645428218, rel=REL)
        assert r.hl_ci_high == pytest.approx(2.9499207995407807914, rel=REL)
        assert r.hl_ci_level == 0.95 and r.hl_ci_label() == "95% CI"

    def test_cohens_dz_is_t_over_root_n(self):
        # Lakens (2013) Front Psychol 4:863, eq. 7: d_z = t / sqrt(n) = 4.0621 / sqrt(10)
        assert self.result.cohens_dz == pytest.approx(4.0621 / np.sqrt(10), abs=2e-5)

    def test_pre_post_correlation(self):
        # R: cor(sleep$extra[1:10], sleep$extra[11:20]) = 0.7951702
        assert self.result.pre_post_r == pytest.approx(0.7951702, abs=5e-8)

    def test_descriptives(self):
        # R: mean(extra[1:10]) 0.75, mean(extra[11:20]) 2.33, sd 1.789010 and 2.002249,
        # summary(extra[1:10]) 1st Qu. -0.175, Median 0.35, 3rd Qu. 1.700
        r = self.result
        assert (r.mean_before, r.mean_after) == pytest.approx((0.75, 2.33))
        assert (r.sd_before, r.sd_after) == pytest.approx((1.789010, 2.002249), abs=5e-7)
        assert (r.q1_before, r.median_before, r.q3_before) == pytest.approx((-0.175, 0.35, 1.7))


class TestHollanderWolfeDepression:
    """R's ?wilcox.test example: wilcox.test(x, y, paired = TRUE, alternative = "greater")
    gives V = 40, p-value = 0.01953 (exact); the two-sided p is twice that, 0.03906."""

    def test_exact_wilcoxon(self):
        result = paired_statistics(HW_Y, HW_X)  # change = x - y, as R's x, y order
        assert result.wilcoxon_v == 40
        assert result.wilcoxon_method == "exact"
        assert result.p_value_wilcoxon == pytest.approx(0.0390625, abs=5e-8)

    def test_reversed_order_gives_complementary_v(self):
        # wilcox.test(y, x, paired = TRUE): V = n(n+1)/2 - 40 = 5, same p
        result = paired_statistics(HW_X, HW_Y)
        assert result.wilcoxon_v == 5
        assert result.p_value_wilcoxon == pytest.approx(0.0390625, abs=5e-8)

    def test_hodges_lehmann_estimate(self):
        # Hollander & Wolfe: estimate of the median difference 0.46; R prints
        # (pseudo)median 0.46 for wilcox.test(x, y, paired = TRUE, conf.int = TRUE)
        assert paired_statistics(HW_Y, HW_X).hodges_lehmann == pytest.approx(0.46)

    def test_exact_ci_uses_r_order_statistics(self):
        # R: qu <- qsignrank(0.025, 9) = 6; CI = (W[6], W[45 - 6 + 1]) of sorted Walsh averages.
        # R 4.2.2: r <- wilcox.test(round(x - y, 12), conf.int = TRUE): r$conf.int 0.01 0.786,
        # conf.level 0.95 (exact: coverage 1 - 2 * psignrank(5, 9) = 0.9609375).
        d = HW_X - HW_Y
        walsh = sorted((a + b) / 2 for a, b in itertools.combinations_with_replacement(d, 2))
        result = paired_statistics(HW_Y, HW_X)
        assert (result.hl_ci_low, result.hl_ci_high) == pytest.approx((walsh[5], walsh[39]))
        assert result.hl_ci_low == pytest.approx(0.010)
        assert result.hl_ci_high == pytest.approx(0.786)
        assert result.hl_ci_level == 0.95
        assert result.hl_ci_coverage == pytest.approx(1 - 2 * 0.01953125)  # R: psignrank(5, 9)


class TestTiedPairsStackExchange:
    """R output (stats.stackexchange.com/q/613310): t = 3.4757, df = 18, p-value = 0.002698,
    CI 1.536795 6.233732, mean difference 3.885263; wilcox.test(..., paired = TRUE,
    conf.int = TRUE): V = 181, p-value = 0.0005795, CI 2.179984 4.350064."""

    result = paired_statistics(SE_Y, SE_X)  # change = x - y as in R's call

    def test_t(self):
        r = self.result
        assert r.t_statistic == pytest.approx(3.4757, abs=5e-5)
        assert r.df == 18
        assert r.p_value_t == pytest.approx(0.002698, abs=5e-7)
        assert (r.change_ci_low, r.change_ci_high) == pytest.approx((1.536795, 6.233732), abs=5e-7)
        assert r.mean_change == pytest.approx(3.885263, abs=5e-7)

    def test_wilcoxon_normal_approximation_with_ties(self):
        assert self.result.wilcoxon_v == 181
        assert self.result.p_value_wilcoxon == pytest.approx(0.0005795, abs=5e-8)

    def test_hodges_lehmann_interval_matches_r(self):
        # With ties R inverts the normal approximation (uniroot), and so does this module.
        # R 4.2.2: r <- wilcox.test(round(x - y, 12), conf.int = TRUE): r$estimate
        # 3.3146066194917099, r$conf.int 2.1799840343571013 4.3500641608608008 (the published
        # output above rounds these; unrounded x - y moves them by 4e-16).
        assert self.result.hodges_lehmann == pytest.approx(3.3146066194917099, rel=REL)
        assert self.result.hl_ci_low == pytest.approx(2.1799840343571013, rel=REL)
        assert self.result.hl_ci_high == pytest.approx(4.3500641608608008, rel=REL)
        assert self.result.wilcoxon_method == "normal approximation with continuity correction"


def test_shapiro_wilk_matches_r_toothgrowth():
    result = paired_statistics(np.zeros(len(TOOTH_LEN)), TOOTH_LEN)
    assert result.shapiro_w == pytest.approx(0.96743, abs=5e-6)
    assert result.shapiro_p == pytest.approx(0.1091, abs=5e-5)


@pytest.mark.parametrize("n", [6, 7, 12, 30, 49])
def test_exact_hodges_lehmann_is_the_walsh_median_and_order_statistics(n):
    # Below 50 non-zero changes without ties or zeros R's interval is exact: the estimate is the
    # median of the n(n+1)/2 Walsh averages, the ends their qu-th smallest and largest, qu =
    # qsignrank(0.025, n) (1 at n = 6, 3 at n = 7, 14 at n = 12, 138 at n = 30, 416 at n = 49).
    rng = np.random.default_rng(n)
    d = rng.normal(0.5, 2, n)
    walsh = np.sort([(a + b) / 2 for a, b in itertools.combinations_with_replacement(d, 2)])
    qu = {6: 1, 7: 3, 12: 14, 30: 138, 49: 416}[n]
    r = paired_statistics(np.zeros(n), d)
    assert r.wilcoxon_method == "exact"
    assert r.hodges_lehmann == pytest.approx(np.median(walsh), abs=1e-12)
    assert (r.hl_ci_low, r.hl_ci_high) == pytest.approx((walsh[qu - 1], walsh[-qu]), abs=1e-12)


class TestRecommendationAndWarnings:
    """The primary test follows the scale, fixed before the data are seen (no Shapiro-Wilk gate;
    Rochon, Gondan & Kieser 2012, BMC Med Res Methodol 12:81)."""

    def test_continuous_scale_recommends_t_test_even_when_skewed(self):
        rng = np.random.default_rng(2)
        before = rng.normal(6, 1.5, 60)
        after = before - rng.exponential(2, 60) ** 2
        r = paired_statistics(before, after, scale="continuous")
        assert r.shapiro_p is not None and r.shapiro_p < 0.05  # described, not a gate
        assert r.recommended_test == "paired t-test"
        assert r.p_value_recommended == r.p_value_t
        assert "continuous measurement" in r.recommended_reason
        assert not any(w["code"] == "non_normal" for w in r.warnings)

    def test_ordinal_scale_recommends_wilcoxon_even_when_normal(self):
        rng = np.random.default_rng(1)
        before = np.clip(np.round(rng.normal(6, 1.5, 60)), 0, 10)
        after = np.clip(before - 2 + np.round(rng.normal(0, 1, 60)), 0, 10)
        r = paired_statistics(before, after, direction="lower", mcid=2, scale="ordinal")
        assert r.recommended_test == "Wilcoxon signed-rank test"
        assert r.p_value_recommended == r.p_value_wilcoxon
        assert "ordinal scale" in r.recommended_reason

    def test_unknown_scale_is_read_from_the_kind_of_values(self):
        whole = paired_statistics(np.array([6.0, 7, 5, 8]), np.array([4.0, 5, 5, 6]))
        assert whole.recommended_test == "Wilcoxon signed-rank test"
        assert "whole numbers with few possible levels" in whole.recommended_reason
        decimals = paired_statistics(np.array([6.1, 7.3, 5.2, 8.4]), np.array([4.2, 5.9, 5.0, 6]))
        assert decimals.recommended_test == "paired t-test"

    def test_small_n_warns_and_states_the_smallest_reachable_p(self):
        r = paired_statistics(np.array([6.0, 7, 5, 8, 9]), np.array([4.0, 5, 4, 6, 5]))
        assert any(w["code"] == "small_n" for w in r.warnings)
        # 5 pairs, all negative: R wilcox.test(c(-2, -2, -1, -2, -4)) would tie; the exact
        # minimum of the two-sided signed-rank p at n = 5 is 2 / 2^5 = 0.0625.
        five = paired_statistics(np.zeros(5), np.array([1.0, 2, 3, 4, 5]))
        assert five.wilcoxon_smallest_p == 0.0625

    def test_zero_variance_is_undefined_with_reason(self):
        r = paired_statistics(np.array([5.0, 6, 7, 8]), np.array([3.0, 4, 5, 6]))
        assert r.t_statistic is None and r.p_value_t is None and r.cohens_dz is None
        assert "same amount" in r.undefined["p_value_t"]
        assert r.wilcoxon_v == 0  # all four changes are negative
        assert r.recommended_test == "Wilcoxon signed-rank test"
        assert r.to_dict()["t_statistic"] is None

    def test_no_change_at_all(self):
        r = paired_statistics(np.array([5.0, 5, 5]), np.array([5.0, 5, 5]))
        assert r.recommended_test is None
        assert r.p_value_wilcoxon is None
        assert "no ranks" in r.undefined["p_value_wilcoxon"]

    def test_no_pairs(self):
        r = paired_statistics(np.array([]), np.array([]))
        assert r.n_pairs == 0
        assert r.mean_change is None
        assert r.undefined["mean_change"] == "no patient has values at both visits"

    def test_one_pair(self):
        r = paired_statistics(np.array([6.0]), np.array([3.0]), direction="lower", mcid=2)
        assert r.mean_change == -3
        assert r.sd_change is None and "at least 2 pairs" in r.undefined["sd_change"]
        assert r.n_improved == 1 and r.n_improved_mcid == 1


class TestDirectionCounts:
    before = np.array([6.0, 6, 6, 6, 6, 6.1])
    after = np.array([3.0, 4, 5, 6, 9, 4.1])

    def test_lower_is_better(self):
        r = paired_statistics(self.before, self.after, direction="lower", mcid=2)
        assert (r.n_improved, r.n_unchanged, r.n_worsened) == (4, 1, 1)
        # -3, -2, -2.0 (6.1 -> 4.1, floating point) reach the 2-point difference
        assert r.n_improved_mcid == 3
        assert r.n_worsened_mcid == 1

    def test_higher_is_better(self):
        r = paired_statistics(self.before, self.after, direction="higher", mcid=None)
        assert (r.n_improved, r.n_worsened) == (1, 4)
        assert r.n_improved_mcid is None
        assert "no clinically important difference" in r.undefined["n_improved_mcid"]

    def test_unknown_direction_never_judges(self):
        r = paired_statistics(self.before, self.after, direction=None)
        assert r.n_improved is None and r.n_worsened is None
        assert (r.n_increased, r.n_decreased) == (1, 4)
        assert "direction of improvement is not known" in r.undefined["n_improved"]


def test_p_value_formatting():
    assert format_p(0.0004) == "< 0.001"
    assert format_p(0.0123) == "0.012"
    assert format_p(0.43) == "0.43"
    assert format_p(None) == "undefined"
    assert p_phrase(0.0004) == "p < 0.001"
    assert p_phrase(0.0123) == "p = 0.012"
