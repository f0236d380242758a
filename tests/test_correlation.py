import numpy as np
import pandas as pd
import pytest
from scipy import stats

from e3dlib.correlation import band_correlations, correlation_table, correlations, paired_difference, tau_verdict


def test_known_values_and_perfect_order():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    c = correlations(x, y, n_boot=200)
    assert c["kendall"] == pytest.approx(0.6)  # 8 concordant, 2 discordant pairs of 10
    assert c["spearman"] == pytest.approx(0.8)
    assert c["pearson"] == pytest.approx(0.8)
    assert c["n"] == 5
    mono = correlations(x, np.exp(x), n_boot=200)
    assert mono["kendall"] == pytest.approx(1) and mono["spearman"] == pytest.approx(1)
    assert mono["kendall_lo"] == pytest.approx(1)
    assert mono["pearson"] < 1.0


def test_bootstrap_interval_covers_zero_for_independent_samples_and_is_seeded():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=40), rng.normal(size=40)
    c = correlations(x, y, n_boot=500, seed=1)
    assert c["kendall"] == pytest.approx(stats.kendalltau(x, y).statistic)
    for m in ("kendall", "spearman", "pearson"):
        assert c[f"{m}_lo"] < c[m] < c[f"{m}_hi"]
    assert c["kendall_lo"] < 0 < c["kendall_hi"]
    assert c == correlations(x, y, n_boot=500, seed=1)


def test_nan_scores_are_dropped_and_too_few_pairs_raise():
    c = correlations([1, 2, np.nan, 4, 5], [1, 2, 3, 4, 5], n_boot=50)
    assert c["n"] == 4 and c["kendall"] == 1.0
    with pytest.raises(ValueError, match="at least 3"):
        correlations([1, np.nan, 3], [1, 2, 3])


def test_tables_sort_by_kendall_and_split_into_equal_count_bands():
    rng = np.random.default_rng(2)
    f = np.arange(30.0)
    df = pd.DataFrame({"gmacs": f, "acc": f + rng.normal(0, 3, 30), "good": f, "bad": -f})
    t = correlation_table(df, "acc", ["bad", "good"], n_boot=100)
    assert list(t["score"]) == ["good", "bad"] and t.loc[0, "kendall"] == -t.loc[1, "kendall"]
    b = band_correlations(df, "acc", ["good"], by="gmacs", bands=3, n_boot=100)
    assert list(b["band"]) == [0, 1, 2] and list(b["n"]) == [10, 10, 10]
    assert list(b["gmacs_lo"]) == [0, 10, 20] and list(b["gmacs_hi"]) == [9, 19, 29]


def test_paired_difference_uses_the_same_resamples():
    rng = np.random.default_rng(3)
    acc = np.arange(40.0)
    df = pd.DataFrame({"acc": acc, "good": acc + rng.normal(0, 2, 40), "noisy": acc + rng.normal(0, 30, 40)})
    d = paired_difference(df, "acc", "good", "noisy", n_boot=500)
    tau = correlations(df["good"], df["acc"])["kendall"] - correlations(df["noisy"], df["acc"])["kendall"]
    assert d["difference"] == pytest.approx(tau) and d["n"] == 40 and d["boot_used"] == 500
    assert 0 < d["lo"] < d["difference"] < d["hi"]  # the good score ranks reliably better
    assert d["p"] == pytest.approx(1 / 500)  # no resample on the other side of 0: the smallest p resolvable
    tie = paired_difference(df.assign(noisy2=df["noisy"] + rng.normal(0, 1, 40)), "acc", "noisy", "noisy2", n_boot=500)
    assert tie["p"] > 0.05  # two nearly identical scores: no difference called
    same = paired_difference(df, "acc", "good", "good", n_boot=100)
    assert same["difference"] == same["lo"] == same["hi"] == 0.0  # identical scores: no spread at all


def test_correlation_table_marks_undefined_scores_instead_of_failing():
    df = pd.DataFrame({"acc": [0.1, 0.5, 0.3, 0.9], "good": [1.0, 5.0, 3.0, 9.0], "broken": [np.nan] * 3 + [1.0]})
    t = correlation_table(df, "acc", ["broken", "good"], n_boot=50).set_index("score")
    assert t.loc["good", "kendall"] == pytest.approx(1.0) and np.isnan(t.loc["broken", "kendall"])
    assert t.loc["broken", "n"] == 1 and list(t.index) == ["good", "broken"]


def test_tau_verdict_reads_the_interval_not_the_point():
    from e3dlib.power import kendall_detectable

    assert tau_verdict("S", 0.36, 0.14, 0.57, 30).startswith("**S predicts trained top-1**: τ = +0.36 [+0.14, +0.57]")
    assert "rules out a τ below +0.14" in tau_verdict("S", 0.36, 0.14, 0.57, 30)
    assert tau_verdict("S", -0.4, -0.6, -0.1, 30).startswith("**S ranks against trained top-1**")
    null = tau_verdict("S", 0.36, -0.01, 0.6, 30)  # a large tau whose interval spans 0 is no association
    assert null.startswith("**No association of S with trained top-1 shown**")
    assert f"beyond {kendall_detectable(30):.2f}" in null
