MERGE INTO [sales].[Order]]Lines] WITH (HOLDLOCK) AS t
USING (SELECT c1, c2, c3, c4 FROM #rowsync_stage_4 WHERE op <> 3) AS s
ON t.[region] = s.c1 AND t.[order no] = s.c2
WHEN NOT MATCHED BY TARGET THEN INSERT ([region], [order no], [note], [blob]) VALUES (s.c1, s.c2, s.c3, s.c4);
