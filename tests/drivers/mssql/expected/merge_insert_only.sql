MERGE INTO [dbo].[Orders] WITH (HOLDLOCK) AS t
USING (SELECT c1, c2, c3, c4, c5 FROM #rowsync_stage_3 WHERE op <> 3) AS s
ON t.[id] = s.c1
WHEN MATCHED THEN UPDATE SET t.[name] = s.c2, t.[price] = s.c4
WHEN NOT MATCHED BY TARGET THEN INSERT ([id], [name], [qty], [price], [at]) VALUES (s.c1, s.c2, s.c3, s.c4, s.c5);
