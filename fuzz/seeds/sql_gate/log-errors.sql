SELECT service_name, SUM(_sample_interval) AS errors
FROM worker_logs
WHERE timestamp > NOW() - INTERVAL '1' DAY AND severity_number >= 17
GROUP BY service_name