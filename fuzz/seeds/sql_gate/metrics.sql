SELECT metric_name, service_name, SUM(_sample_interval) AS points, MAX(time_ms) AS last_point_ms
FROM worker_metrics
WHERE timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY metric_name, service_name