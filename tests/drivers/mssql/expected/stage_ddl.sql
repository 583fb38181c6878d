IF OBJECT_ID(N'tempdb..#rowsync_stage_3', N'U') IS NULL
CREATE TABLE #rowsync_stage_3 (n int NOT NULL, op tinyint NOT NULL, time_us bigint NOT NULL, origin nvarchar(255) NULL, c1 int NULL, c2 nvarchar(50) COLLATE Latin1_General_CI_AS NULL, c3 int NULL, c4 money NULL, c5 datetime2(7) NULL);
DELETE FROM #rowsync_stage_3;
