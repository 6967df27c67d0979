SELECT service_name, operation,
  SUM(_sample_interval * is_error) / SUM(_sample_interval) AS error_rate,
  SUM(_sample_interval * duration_ms) / SUM(_sample_interval) AS avg_duration_ms
FROM distributed_traces
WHERE timestamp > NOW() - INTERVAL '1' HOUR AND is_entry = 1
GROUP BY service_name, operation