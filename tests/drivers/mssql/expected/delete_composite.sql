DELETE t FROM [sales].[Order]]Lines] AS t INNER JOIN #rowsync_stage_4 AS s ON t.[region] = s.c1 AND t.[order no] = s.c2 WHERE s.op = 3;
