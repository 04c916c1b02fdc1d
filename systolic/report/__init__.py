"""Reports of a run: summary.json and CSVs, the HTML report, SVG charts, heatmaps and plots."""
