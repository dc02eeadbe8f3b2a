"""Statistics for repeated runs and comparisons, all from scipy.stats: the interval every mean is
printed with and the tests behind every "A beats B". Pure numbers in, numbers out: no MLflow."""
