DECLARE @rowsync_obj int = OBJECT_ID(N'[dbo].[Orders]');
EXEC sp_set_session_context N'rowsync.applying', @rowsync_obj;
DELETE t FROM [dbo].[Orders] AS t INNER JOIN #rowsync_stage_3 AS s ON t.[id] = s.c1 WHERE s.op = 3;
SET IDENTITY_INSERT [dbo].[Orders] ON;
MERGE INTO [dbo].[Orders] WITH (HOLDLOCK) AS t
USING (SELECT c1, c2, c3, c4, c5 FROM #rowsync_stage_3 WHERE op <> 3) AS s
ON t.[id] = s.c1
WHEN MATCHED THEN UPDATE SET t.[name] = s.c2, t.[qty] = s.c3, t.[price] = s.c4, t.[at] = s.c5
WHEN NOT MATCHED BY TARGET THEN INSERT ([id], [name], [qty], [price], [at]) VALUES (s.c1, s.c2, s.c3, s.c4, s.c5);
SET IDENTITY_INSERT [dbo].[Orders] OFF;
EXEC sp_set_session_context N'rowsync.applying', NULL;
INSERT INTO [rowsync].[h_dbo_Orders] (op, time_us, origin, k1) SELECT op, time_us, origin, c1 FROM #rowsync_stage_3 ORDER BY n;
