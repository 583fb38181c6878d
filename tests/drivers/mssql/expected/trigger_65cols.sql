CREATE OR ALTER TRIGGER [dbo].[rowsync_capture_Wide] ON [dbo].[Wide]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
-- rowsync masks 7d778708
IF @@ROWCOUNT = 0 RETURN;
SET NOCOUNT ON;
IF CONVERT(int, SESSION_CONTEXT(N'rowsync.applying')) = (SELECT parent_id FROM sys.triggers WHERE object_id = @@PROCID) RETURN;
DECLARE @rowsync_t bigint = DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME());
DECLARE @rowsync_o nvarchar(255) = CONVERT(nvarchar(255), SESSION_CONTEXT(N'rowsync.origin'));
INSERT INTO [rowsync].[h_dbo_Wide] (op, time_us, origin, k1)
SELECT 3, @rowsync_t, @rowsync_o, d.[c0] FROM deleted AS d
WHERE NOT EXISTS (SELECT 1 FROM inserted AS i WHERE i.[c0] = d.[c0]);
INSERT INTO [rowsync].[h_dbo_Wide] (op, time_us, origin, k1, cols)
SELECT CASE WHEN d.[c0] IS NULL THEN 1 ELSE 2 END, @rowsync_t, @rowsync_o, i.[c0],
CAST(NULL AS bigint)
FROM inserted AS i LEFT JOIN deleted AS d ON d.[c0] = i.[c0];
END;
