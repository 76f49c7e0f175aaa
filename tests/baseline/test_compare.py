"""The baseline judge against known values: U and p computed independently (scipy called directly with an
explicit method and alternative, and one case enumerated by hand), the direction and tolerance rules, and too
few samples."""

from __future__ import annotations

import itertools
import math

import pytest
from scipy.stats import mannwhitneyu

from rollcheck.measure import compare
from rollcheck.measure import describe_comparison
from rollcheck.measure import summarize
from rollcheck.measure._baseline import significance_level
from rollcheck.measure._baseline import smallest_p_value
from rollcheck.measure._evidence import format_value
from rollcheck.record import ComparisonOutcome
from rollcheck.settings import Direction

BASELINE = [0.010, 0.012, 0.008, 0.011, 0.009, 0.013, 0.0105]  # no ties: scipy's exact method applies
WORSE = [0.020, 0.024, 0.019, 0.026, 0.021, 0.023, 0.022]
RULES = {"confidence": 0.95, "tolerance": 0.10}


def test_a_tiny_case_matches_hand_enumeration() -> None:
    # Release [3, 4] against baseline [1, 2]: every release value beats every baseline value, so U = 2 * 2 = 4.
    # Under the null hypothesis each of the C(4, 2) = 6 ways to pick the release's ranks is equally likely, and
    # only {3, 4} reaches U = 4: the one-sided p is 1/6.
    ranks = [1, 2, 3, 4]
    u_of = [sum(a > b for a in pick for b in set(ranks) - set(pick)) for pick in itertools.combinations(ranks, 2)]
    assert sorted(u_of) == [0, 1, 2, 2, 3, 4]
    result = compare([1.0, 2.0], [3.0, 4.0], direction=Direction.INCREASE, min_samples=2, **RULES)
    assert result.statistic == 4
    assert result.p_value == pytest.approx(u_of.count(4) / len(u_of))
    # 1/6 is not below 0.05: two samples a side cannot show anything at 95% confidence, so this is no pass.
    assert result.outcome is ComparisonOutcome.INSUFFICIENT_DATA


@pytest.mark.parametrize(
    ("direction", "alternative"),
    [(Direction.INCREASE, "greater"), (Direction.DECREASE, "less"), (Direction.EITHER, "two-sided")],
)
def test_u_and_p_match_scipy_exact(direction: Direction, alternative: str) -> None:
    expected = mannwhitneyu(WORSE, BASELINE, alternative=alternative, method="exact")
    result = compare(BASELINE, WORSE, direction=direction, **RULES)
    assert result.statistic == expected.statistic == 49  # 7 x 7 pairs, the release's value larger in each
    assert result.p_value == pytest.approx(expected.pvalue)


def test_ties_use_the_normal_approximation_with_tie_correction() -> None:
    baseline, release = [0.0, 0.0, 0.01, 0.0, 0.02, 0.0], [0.0, 0.03, 0.02, 0.05, 0.0, 0.04]
    expected = mannwhitneyu(release, baseline, alternative="greater", method="asymptotic", use_continuity=True)
    result = compare(baseline, release, direction=Direction.INCREASE, **RULES)
    assert (result.statistic, result.p_value) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))


def test_a_significant_increase_fails_and_is_explained() -> None:
    result = compare(BASELINE, WORSE, direction=Direction.INCREASE, **RULES)
    assert result.outcome is ComparisonOutcome.FAILED
    assert result.p_value is not None
    assert result.p_value < 0.05
    assert result.effect_size == pytest.approx((sum(WORSE) / 7 - sum(BASELINE) / 7) / (sum(BASELINE) / 7))
    assert (result.canary.n, result.baseline.n, result.baseline.median) == (7, 7, 0.0105)
    text = describe_comparison(result, "error ratio")
    assert text.startswith("error ratio: release median 0.022, mean 0.02214 (n=7, 0.019..0.026) vs baseline median")
    assert "Mann-Whitney U=49, p=0.0002914 < 0.05 (one-sided, increase)" in text
    assert "change of the mean +110.9% (tolerance 10%)" in text


def test_an_improvement_passes_when_only_increase_is_bad() -> None:
    result = compare(WORSE, BASELINE, direction=Direction.INCREASE, **RULES)
    assert result.outcome is ComparisonOutcome.PASSED
    assert (result.statistic, result.p_value) == (0, 1.0)  # U = 0, and every arrangement has U >= 0


def test_a_decrease_fails_when_decrease_is_bad_and_either_catches_both() -> None:
    assert compare(WORSE, BASELINE, direction=Direction.DECREASE, **RULES).outcome is ComparisonOutcome.FAILED
    assert compare(WORSE, BASELINE, direction=Direction.EITHER, **RULES).outcome is ComparisonOutcome.FAILED
    assert compare(BASELINE, WORSE, direction=Direction.EITHER, **RULES).outcome is ComparisonOutcome.FAILED
    assert compare(BASELINE, WORSE, direction=Direction.DECREASE, **RULES).outcome is ComparisonOutcome.PASSED


def test_a_significant_change_within_the_tolerance_passes() -> None:
    steady = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06]
    slightly = [value * 1.15 for value in steady]  # every sample higher, so significant, but by 15%
    strict = compare(steady, slightly, direction=Direction.INCREASE, confidence=0.95, tolerance=0.10)
    lenient = compare(steady, slightly, direction=Direction.INCREASE, confidence=0.95, tolerance=0.20)
    assert strict.effect_size == pytest.approx(0.15)
    assert strict.p_value == lenient.p_value
    assert strict.p_value is not None
    assert strict.p_value < 0.05
    assert strict.outcome is ComparisonOutcome.FAILED
    assert lenient.outcome is ComparisonOutcome.PASSED


def test_confidence_sets_the_significance_level() -> None:
    baseline, release = [1.0, 2.0, 3.0, 4.0, 5.0], [3.0, 4.0, 5.0, 6.0, 7.0]
    p = mannwhitneyu(release, baseline, alternative="greater", method="exact").pvalue
    assert 0.05 < p < 0.2
    assert compare(baseline, release, direction=Direction.INCREASE, confidence=0.95, tolerance=0.1).outcome == "passed"
    assert compare(baseline, release, direction=Direction.INCREASE, confidence=0.80, tolerance=0.1).outcome == "failed"


def test_from_a_zero_baseline_any_significant_increase_is_unbounded() -> None:
    result = compare([0.0] * 6, [0.01, 0.02, 0.01, 0.03, 0.02, 0.01], direction=Direction.INCREASE, **RULES)
    assert result.effect_size == math.inf
    assert result.outcome is ComparisonOutcome.FAILED


def test_identical_samples_pass_with_p_1() -> None:
    result = compare([0.0] * 6, [0.0] * 6, direction=Direction.EITHER, **RULES)
    assert (result.outcome, result.p_value, result.effect_size) == (ComparisonOutcome.PASSED, 1.0, 0.0)


@pytest.mark.parametrize(("baseline_n", "release_n"), [(4, 10), (10, 4), (0, 10), (0, 0)])
def test_too_few_samples_on_either_side_is_insufficient_data(baseline_n: int, release_n: int) -> None:
    result = compare([0.01] * baseline_n, [0.5] * release_n, direction=Direction.INCREASE, min_samples=5, **RULES)
    assert result.outcome is ComparisonOutcome.INSUFFICIENT_DATA
    assert (result.statistic, result.p_value, result.effect_size) == (None, None, None)
    assert (result.baseline.n, result.canary.n) == (baseline_n, release_n)
    assert "too few samples to compare" in describe_comparison(result, "error ratio")


def test_summaries_and_bad_arguments() -> None:
    assert summarize([3.0, 1.0, 2.0, 10.0]).to_dict() == {"n": 4, "median": 2.5, "mean": 4.0, "min": 1.0, "max": 10.0}
    with pytest.raises(ValueError, match="the release samples contain NaN"):
        compare([1.0] * 5, [1.0, math.nan], direction=Direction.INCREASE, **RULES)
    with pytest.raises(ValueError, match=r"confidence must be between 0 and 1, exclusive, not 1\.0"):
        compare([1.0], [1.0], direction=Direction.INCREASE, confidence=1.0, tolerance=0.1)


def _p_values(release_n: int, baseline_n: int, direction: Direction, values: range) -> tuple[list[float], list[float]]:
    """scipy's p for every way to fill samples of these sizes from `values`: (tie-free ones, tied ones)."""
    alternative = {Direction.INCREASE: "greater", Direction.DECREASE: "less", Direction.EITHER: "two-sided"}[direction]
    free, tied = [], []
    for pooled in itertools.product(values, repeat=release_n + baseline_n):
        p = float(mannwhitneyu(pooled[:release_n], pooled[release_n:], alternative=alternative).pvalue)
        (tied if len(set(pooled)) < len(pooled) else free).append(p)
    return free, tied


@pytest.mark.parametrize("direction", list(Direction))
@pytest.mark.parametrize(("release_n", "baseline_n"), [(1, 1), (2, 2), (3, 2), (3, 3), (4, 3), (5, 5), (2, 9)])
def test_the_smallest_p_value_is_the_smallest_scipy_gives_without_ties(
    direction: Direction, release_n: int, baseline_n: int
) -> None:
    # Without ties only the ranks matter: every choice of the release's ranks, through scipy's own test.
    n = release_n + baseline_n
    alternative = {Direction.INCREASE: "greater", Direction.DECREASE: "less", Direction.EITHER: "two-sided"}[direction]
    smallest = min(
        float(mannwhitneyu(pick, [r for r in range(n) if r not in pick], alternative=alternative).pvalue)
        for pick in itertools.combinations(range(n), release_n)
    )
    assert smallest_p_value(release_n, baseline_n, direction) == pytest.approx(smallest)
    if n <= 16:  # scipy's exact method: the one extreme arrangement out of C(n, release_n)
        one_sided = 1 / math.comb(n, release_n)
        expected = min(1.0, 2 * one_sided) if direction is Direction.EITHER else one_sided
        assert smallest == pytest.approx(expected)


@pytest.mark.parametrize("direction", list(Direction))
@pytest.mark.parametrize(("release_n", "baseline_n"), [(1, 2), (2, 2), (3, 2), (3, 3)])
def test_no_tied_samples_give_a_smaller_p_value_than_the_tied_bound(
    direction: Direction, release_n: int, baseline_n: int
) -> None:
    # Ties switch scipy to the normal approximation, whose tie correction can go below the exact minimum
    # (3 against 3: 0.023 with ties, 0.05 without): every sample filled from three values, through scipy.
    _, tied = _p_values(release_n, baseline_n, direction, range(3))
    assert min(tied) == pytest.approx(smallest_p_value(release_n, baseline_n, direction, ties=True))


@pytest.mark.parametrize("direction", list(Direction))
@pytest.mark.parametrize("n", [2, 3])
def test_samples_too_small_to_ever_fail_are_insufficient_data_not_a_pass(direction: Direction, n: int) -> None:
    # The most extreme distinct samples of each size: had the test been able to fail, these would fail it.
    low, high = [float(i) for i in range(n)], [float(n + i) for i in range(n)]
    baseline, release = (high, low) if direction is Direction.DECREASE else (low, high)
    result = compare(baseline, release, direction=direction, min_samples=2, **RULES)
    assert result.outcome is ComparisonOutcome.INSUFFICIENT_DATA
    assert result.p_value is not None
    assert result.p_value >= 0.05  # scipy's own p: it could not have failed
    text = describe_comparison(result, "error ratio")
    test = "two-sided" if direction is Direction.EITHER else f"one-sided, {direction.value}"
    free, tied = smallest_p_value(n, n, direction), smallest_p_value(n, n, direction, ties=True)
    # Two a side cannot fail even tied; three a side only tied (scipy's normal approximation), so these cannot.
    samples, smallest = ("samples", min(free, tied)) if tied >= 0.05 else ("samples without ties", free)
    assert f"the smallest p-value {n} release and {n} baseline {samples} can give is {format_value(smallest)}, " in text
    assert f"not below 0.05 ({test})" in text
    assert "too few samples for the test to ever fail" in text


def test_p_equal_to_one_minus_confidence_is_not_significant() -> None:
    # The exact one-sided p of 3 against 3, fully separated, is 1/20: not below 0.05, although in floating point
    # 1 - 0.95 = 0.05000000000000004 is above it.
    assert 1 - 0.95 > 1 / 20
    assert significance_level(0.95) == 0.05
    result = compare([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], direction=Direction.INCREASE, min_samples=3, **RULES)
    assert result.p_value == pytest.approx(1 / 20)
    assert result.outcome is ComparisonOutcome.INSUFFICIENT_DATA


def test_four_samples_a_side_can_fail_one_sided() -> None:
    # 1 / C(8, 4) = 0.014 < 0.05: the smallest sizes at which the one-sided test can fail with both sides equal.
    result = compare([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], direction=Direction.INCREASE, min_samples=2, **RULES)
    assert result.outcome is ComparisonOutcome.FAILED


def test_three_tied_samples_a_side_can_still_fail() -> None:
    # A zero-error baseline against a constant error ratio: tied, so scipy's normal approximation, whose smallest
    # p for 3 against 3 (0.023) is below 0.05, so the comparison judges; exact tie-free samples could not.
    result = compare([0.0] * 3, [0.2] * 3, direction=Direction.INCREASE, min_samples=3, **RULES)
    expected = mannwhitneyu([0.2] * 3, [0.0] * 3, alternative="greater")
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.outcome is ComparisonOutcome.FAILED
    same = compare([0.0] * 3, [0.0] * 3, direction=Direction.INCREASE, min_samples=3, **RULES)
    assert same.outcome is ComparisonOutcome.PASSED
