CREATE OR ALTER TRIGGER [dbo].[rowsync_capture_Orders] ON [dbo].[Orders]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
-- rowsync masks 612bf9cd
IF @@ROWCOUNT = 0 RETURN;
SET NOCOUNT ON;
IF CONVERT(int, SESSION_CONTEXT(N'rowsync.applying')) = (SELECT parent_id FROM sys.triggers WHERE object_id = @@PROCID) RETURN;
DECLARE @rowsync_t bigint = DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME());
DECLARE @rowsync_o nvarchar(255) = CONVERT(nvarchar(255), SESSION_CONTEXT(N'rowsync.origin'));
INSERT INTO [rowsync].[h_dbo_Orders] (op, time_us, origin, k1)
SELECT 3, @rowsync_t, @rowsync_o, d.[id] FROM deleted AS d
WHERE NOT EXISTS (SELECT 1 FROM inserted AS i WHERE i.[id] = d.[id]);
INSERT INTO [rowsync].[h_dbo_Orders] (op, time_us, origin, k1, cols)
SELECT CASE WHEN d.[id] IS NULL THEN 1 ELSE 2 END, @rowsync_t, @rowsync_o, i.[id],
CASE WHEN d.[id] IS NULL THEN NULL ELSE CONVERT(bigint, 0)
 | CASE WHEN CONVERT(varbinary(max), i.[name]) = CONVERT(varbinary(max), d.[name]) OR (i.[name] IS NULL AND d.[name] IS NULL) THEN 0 ELSE 2 END
 | CASE WHEN CONVERT(varbinary(max), i.[qty]) = CONVERT(varbinary(max), d.[qty]) OR (i.[qty] IS NULL AND d.[qty] IS NULL) THEN 0 ELSE 4 END
 | CASE WHEN CONVERT(varbinary(max), i.[price]) = CONVERT(varbinary(max), d.[price]) OR (i.[price] IS NULL AND d.[price] IS NULL) THEN 0 ELSE 8 END
 | CASE WHEN CONVERT(varbinary(max), i.[at]) = CONVERT(varbinary(max), d.[at]) OR (i.[at] IS NULL AND d.[at] IS NULL) THEN 0 ELSE 16 END END
FROM inserted AS i LEFT JOIN deleted AS d ON d.[id] = i.[id];
END;
