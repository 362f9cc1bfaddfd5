"""What the runs pages compute: monitoring, comparison, statistics, colours, parallel coordinates, trade-offs
(Pareto fronts), reports and the run page's logic."""
