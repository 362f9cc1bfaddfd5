"""What the runs pages compute: monitoring, comparison, statistics, colours, parallel coordinates and the run page's logic."""
