DECLARE @rowsync_s binary(8) = CONVERT(binary(8), CONVERT(bigint, SUBSTRING(@since, 2, 2147483647)));
DECLARE @rowsync_b binary(8) = CONVERT(binary(8), CONVERT(bigint, SUBSTRING(@bound, 2, 2147483647)));
SELECT CONVERT(bigint, w.rv), w.op, w.time_us, w.origin, CASE WHEN t.[id] IS NULL THEN 0 ELSE 1 END, w.k1, t.[id], t.[name], t.[qty], CONVERT(varchar(40), t.[price], 2), CONVERT(varchar(40), t.[at], 121), w.cols
FROM (SELECT h.rv, h.op, h.time_us, h.origin, h.k1, ROW_NUMBER() OVER (PARTITION BY h.k1 ORDER BY h.rv DESC) AS rn,
CASE WHEN MIN(CASE WHEN h.cols IS NULL THEN 0 ELSE 1 END) OVER (PARTITION BY h.k1) = 1 THEN CONVERT(bigint, 0)
 | MAX(h.cols & 2) OVER (PARTITION BY h.k1)
 | MAX(h.cols & 4) OVER (PARTITION BY h.k1)
 | MAX(h.cols & 8) OVER (PARTITION BY h.k1)
 | MAX(h.cols & 16) OVER (PARTITION BY h.k1) END AS cols
FROM [rowsync].[h_dbo_Orders] AS h WHERE h.rv >= @rowsync_s AND h.rv < @rowsync_b) AS w
LEFT JOIN [dbo].[Orders] AS t ON t.[id] = w.k1
WHERE w.rn = 1
ORDER BY w.rv;
