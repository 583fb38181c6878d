CREATE OR ALTER TRIGGER [dbo].[rowsync_capture_Orders] ON [dbo].[Orders]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
IF @@ROWCOUNT = 0 RETURN;
SET NOCOUNT ON;
IF CONVERT(int, SESSION_CONTEXT(N'rowsync.applying')) = (SELECT parent_id FROM sys.triggers WHERE object_id = @@PROCID) RETURN;
DECLARE @rowsync_t bigint = DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME());
DECLARE @rowsync_o nvarchar(255) = CONVERT(nvarchar(255), SESSION_CONTEXT(N'rowsync.origin'));
INSERT INTO [rowsync].[h_dbo_Orders] (op, time_us, origin, k1)
SELECT 3, @rowsync_t, @rowsync_o, d.[id] FROM deleted AS d
WHERE NOT EXISTS (SELECT 1 FROM inserted AS i WHERE i.[id] = d.[id]);
INSERT INTO [rowsync].[h_dbo_Orders] (op, time_us, origin, k1)
SELECT CASE WHEN EXISTS (SELECT 1 FROM deleted AS d WHERE d.[id] = i.[id]) THEN 2 ELSE 1 END, @rowsync_t, @rowsync_o, i.[id] FROM inserted AS i;
END;
