SELECT service_name, SUM(_sample_interval) AS requests
FROM distributed_traces
WHERE timestamp > NOW() - INTERVAL '1' HOUR AND is_entry = 1
GROUP BY service_name
ORDER BY requests DESC