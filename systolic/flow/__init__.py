"""The flows: model stages chained for one command (run, thermal, hotspot, dvfs, sweep, accuracy)."""
