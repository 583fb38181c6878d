CREATE OR ALTER TRIGGER [sales].[rowsync_capture_Order]]Lines] ON [sales].[Order]]Lines]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
IF @@ROWCOUNT = 0 RETURN;
SET NOCOUNT ON;
IF CONVERT(int, SESSION_CONTEXT(N'rowsync.applying')) = (SELECT parent_id FROM sys.triggers WHERE object_id = @@PROCID) RETURN;
DECLARE @rowsync_t bigint = DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME());
DECLARE @rowsync_o nvarchar(255) = CONVERT(nvarchar(255), SESSION_CONTEXT(N'rowsync.origin'));
INSERT INTO [rowsync].[h_sales_Order]]Lines] (op, time_us, origin, k1, k2)
SELECT 3, @rowsync_t, @rowsync_o, d.[region], d.[order no] FROM deleted AS d
WHERE NOT EXISTS (SELECT 1 FROM inserted AS i WHERE i.[region] = d.[region] AND i.[order no] = d.[order no]);
INSERT INTO [rowsync].[h_sales_Order]]Lines] (op, time_us, origin, k1, k2)
SELECT CASE WHEN EXISTS (SELECT 1 FROM deleted AS d WHERE d.[region] = i.[region] AND d.[order no] = i.[order no]) THEN 2 ELSE 1 END, @rowsync_t, @rowsync_o, i.[region], i.[order no] FROM inserted AS i;
END;
