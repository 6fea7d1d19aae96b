"""Extended analytics (issue 16): geography, hour of day, conversion, retention,
cohorts and the inline funnel, each read from rollups the rollup job keeps."""
