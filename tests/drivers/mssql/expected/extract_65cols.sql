DECLARE @rowsync_s binary(8) = CONVERT(binary(8), CONVERT(bigint, SUBSTRING(@since, 2, 2147483647)));
DECLARE @rowsync_b binary(8) = CONVERT(binary(8), CONVERT(bigint, SUBSTRING(@bound, 2, 2147483647)));
SELECT CONVERT(bigint, w.rv), w.op, w.time_us, w.origin, CASE WHEN t.[c0] IS NULL THEN 0 ELSE 1 END, w.k1, t.[c0], t.[c1], t.[c2], t.[c3], t.[c4], t.[c5], t.[c6], t.[c7], t.[c8], t.[c9], t.[c10], t.[c11], t.[c12], t.[c13], t.[c14], t.[c15], t.[c16], t.[c17], t.[c18], t.[c19], t.[c20], t.[c21], t.[c22], t.[c23], t.[c24], t.[c25], t.[c26], t.[c27], t.[c28], t.[c29], t.[c30], t.[c31], t.[c32], t.[c33], t.[c34], t.[c35], t.[c36], t.[c37], t.[c38], t.[c39], t.[c40], t.[c41], t.[c42], t.[c43], t.[c44], t.[c45], t.[c46], t.[c47], t.[c48], t.[c49], t.[c50], t.[c51], t.[c52], t.[c53], t.[c54], t.[c55], t.[c56], t.[c57], t.[c58], t.[c59], t.[c60], t.[c61], t.[c62], t.[c63], t.[c64], w.cols
FROM (SELECT h.rv, h.op, h.time_us, h.origin, h.k1, ROW_NUMBER() OVER (PARTITION BY h.k1 ORDER BY h.rv DESC) AS rn, CAST(NULL AS bigint) AS cols
FROM [rowsync].[h_dbo_Wide] AS h WHERE h.rv >= @rowsync_s AND h.rv < @rowsync_b) AS w
LEFT JOIN [dbo].[Wide] AS t ON t.[c0] = w.k1
WHERE w.rn = 1
ORDER BY w.rv;
