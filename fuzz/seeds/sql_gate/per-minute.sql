SELECT toStartOfInterval(timestamp, INTERVAL '1' MINUTE) AS t, SUM(_sample_interval) AS requests
FROM distributed_traces
WHERE timestamp > NOW() - INTERVAL '1' HOUR AND is_entry = 1
GROUP BY t
ORDER BY t