DECLARE @rowsync_s binary(8) = CONVERT(binary(8), CONVERT(bigint, SUBSTRING(@since, 2, 2147483647)));
DECLARE @rowsync_b binary(8) = CONVERT(binary(8), CONVERT(bigint, SUBSTRING(@bound, 2, 2147483647)));
DECLARE @rowsync_x nvarchar(255) = SUBSTRING(@skip, 2, 2147483647);
SELECT CONVERT(bigint, w.rv), w.op, w.time_us, w.origin, CASE WHEN t.[region] IS NULL THEN 0 ELSE 1 END, w.k1, w.k2, t.[region], t.[order no], t.[note], t.[blob], w.cols
FROM (SELECT h.rv, h.op, h.time_us, h.origin, h.k1, h.k2, ROW_NUMBER() OVER (PARTITION BY h.k1, h.k2 ORDER BY h.rv DESC) AS rn,
CASE WHEN MIN(CASE WHEN h.cols IS NULL THEN 0 ELSE 1 END) OVER (PARTITION BY h.k1, h.k2) = 1 THEN CONVERT(bigint, 0)
 | MAX(h.cols & 4) OVER (PARTITION BY h.k1, h.k2)
 | MAX(h.cols & 8) OVER (PARTITION BY h.k1, h.k2) END AS cols
FROM [rowsync].[h_sales_Order]]Lines] AS h WHERE h.rv >= @rowsync_s AND h.rv < @rowsync_b) AS w
LEFT JOIN [sales].[Order]]Lines] AS t ON t.[region] = w.k1 AND t.[order no] = w.k2
WHERE w.rn = 1 AND (w.origin IS NULL OR w.origin <> @rowsync_x)
ORDER BY w.rv;
