SELECT service_name, quantileExactWeighted(0.95)(duration_ms, _sample_interval) AS p95_ms
FROM distributed_traces
WHERE timestamp > NOW() - INTERVAL '1' HOUR AND is_entry = 1
GROUP BY service_name