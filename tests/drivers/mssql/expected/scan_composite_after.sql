SELECT t.[region], t.[order no], t.[note], t.[blob]
FROM [sales].[Order]]Lines] AS t
WHERE (t.[region] > CONVERT(char(2), SUBSTRING(@a1, 2, 2147483647)) COLLATE Latin1_General_BIN2) OR (t.[region] = CONVERT(char(2), SUBSTRING(@a1, 2, 2147483647)) COLLATE Latin1_General_BIN2 AND t.[order no] > CONVERT(bigint, SUBSTRING(@a2, 2, 2147483647)))
ORDER BY t.[region], t.[order no];
